/*
 * Which events-of-record objects each queue message's events were put in (`record_writes`,
 * migrations/0010_dedup_window.sql), so that a redelivery regrouped into another batch can take
 * its events out of the object an earlier attempt wrote (records/write.ts). One row per (queue
 * message, object), written before the put; pruned with the deduplication window (db/seen.ts).
 */

/**
 * The statement that records which objects some queue messages' events are about to be put in.
 *
 * @example
 * await env.DB.batch([recordWritesStatement(env.DB, [{ owner: "508…", key: "events/…/ab.parquet" }], new Date())]);
 */
export function recordWritesStatement(
	db: D1Database,
	rows: readonly { owner: string; key: string }[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO record_writes (owner, object_key, at)
SELECT CAST(value ->> 0 AS INTEGER), value ->> 1, ?2 FROM json_each(?1) WHERE true
ON CONFLICT DO NOTHING`,
		)
		.bind(
			JSON.stringify(rows.map((r) => [r.owner, r.key])),
			Math.floor(now.getTime() / 1000),
		);
}

/**
 * The objects earlier attempts of these queue messages recorded, with their owners.
 *
 * @example
 * await writtenObjects(env.DB, ["508…"]) // [{ owner: "508…", key: "events/…/ab.parquet" }]
 */
export async function writtenObjects(
	db: D1Database,
	owners: readonly string[],
): Promise<{ owner: string; key: string }[]> {
	if (owners.length === 0) return [];
	const { results } = await db
		.prepare(
			`SELECT CAST(owner AS TEXT) AS owner, object_key AS key FROM record_writes
WHERE owner IN (SELECT CAST(value AS INTEGER) FROM json_each(?1))`,
		)
		.bind(JSON.stringify(owners))
		.run<{ owner: string; key: string }>();
	return results;
}
