/*
 * The `ingest_spool` table: EVENTS messages the queue refused at ingest, kept until the drain
 * (ingest/spool.ts) sends them on.
 */

/**
 * Keeps queue messages in D1 until the queue takes them.
 *
 * @throws whatever D1 throws: the caller answers 503.
 * @example
 * await spoolMessages(env.DB, messages, new Date());
 */
export async function spoolMessages(
	db: D1Database,
	messages: readonly string[],
	at: Date,
): Promise<void> {
	const insert = db.prepare(
		"INSERT INTO ingest_spool (body, spooled_at) VALUES (?1, ?2)",
	);
	await db.batch(messages.map((body) => insert.bind(body, at.toISOString())));
}

/**
 * The oldest spooled messages, at most `limit`.
 *
 * @example
 * for (const { id, body } of await spooledMessages(env.DB, 500)) …
 */
export async function spooledMessages(
	db: D1Database,
	limit: number,
): Promise<{ id: number; body: string }[]> {
	const { results } = await db
		.prepare("SELECT id, body FROM ingest_spool ORDER BY id LIMIT ?1")
		.bind(limit)
		.all<{ id: number; body: string }>();
	return results;
}

/**
 * Deletes one spooled message (the queue took it).
 *
 * @example
 * await deleteSpooled(env.DB, row.id);
 */
export async function deleteSpooled(db: D1Database, id: number): Promise<void> {
	await db.prepare("DELETE FROM ingest_spool WHERE id = ?1").bind(id).run();
}

/**
 * A statement deleting spooled messages, for a batch that also parks their events.
 *
 * @example
 * await env.DB.batch([...parkStatements(env.DB, parked, now), unspoolStatement(env.DB, ids)]);
 */
export function unspoolStatement(
	db: D1Database,
	ids: readonly number[],
): D1PreparedStatement {
	return db
		.prepare(
			"DELETE FROM ingest_spool WHERE id IN (SELECT value FROM json_each(?1))",
		)
		.bind(JSON.stringify(ids));
}

/**
 * How many messages wait in the spool, and since when (the console's backlog figure).
 *
 * @example
 * await spoolBacklog(env.DB) // { messages: 0, oldest: null }
 */
export async function spoolBacklog(
	db: D1Database,
): Promise<{ messages: number; oldest: string | null }> {
	const row = await db
		.prepare(
			"SELECT count(*) AS messages, min(spooled_at) AS oldest FROM ingest_spool",
		)
		.first<{ messages: number; oldest: string | null }>();
	return { messages: row?.messages ?? 0, oldest: row?.oldest ?? null };
}
