/*
 * The delivery log's failure rows (migrations/0011_delivery_batches.sql): one per (destination,
 * event) the destination has not taken — retrying, failed, dead or dropped — with what replay,
 * ordering and erasure need. An event delivered at its first attempt never gets one; one
 * delivered after failing keeps its row as `delivered` (without its payload) until the
 * retention, so a replay of its parked copy knows not to send it again. Every statement takes
 * its rows as one JSON parameter (json_each).
 */

/** A failure row's status (db/deliveries.ts has them all). */
export type FailureStatus =
	| "retrying"
	| "failed"
	| "dead"
	| "dropped"
	| "delivered";

/** An event's (sourceId, messageId). */
type EventKey = readonly [sourceId: string, messageId: string];

/** What the consumer needs of an event's failure row. */
export interface FailureState {
	status: FailureStatus;
	attempts: number;
	batchKey: string;
}

const KEYS = `(SELECT value ->> 0, value ->> 1 FROM json_each(?2))`;
/** The element of ?2 that names the row being updated. */
const MINE = `(SELECT value FROM json_each(?2)
  WHERE value ->> 0 = delivery_failures.source_id AND value ->> 1 = delivery_failures.message_id)`;

/**
 * The failure rows of some events at one destination, by `${sourceId}\u001f${messageId}`.
 *
 * @example
 * (await failureStates(env.DB, "hooks", [["web", "m1"]])).get("web\u001fm1") // { status: "retrying", attempts: 2, batchKey }
 */
export async function failureStates(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
): Promise<Map<string, FailureState>> {
	const states = new Map<string, FailureState>();
	if (keys.length === 0) return states;
	const { results } = await db
		.prepare(
			`SELECT source_id, message_id, status, attempts, batch_key FROM delivery_failures
WHERE destination_id = ?1 AND (source_id, message_id) IN ${KEYS}`,
		)
		.bind(destinationId, JSON.stringify(keys))
		.run<{
			source_id: string;
			message_id: string;
			status: FailureStatus;
			attempts: number;
			batch_key: string;
		}>();
	for (const row of results)
		states.set(`${row.source_id}\u001f${row.message_id}`, {
			status: row.status,
			attempts: row.attempts,
			batchKey: row.batch_key,
		});
	return states;
}

/** An event's failure at one destination, as the consumer records it. */
export interface Failure {
	sourceId: string;
	messageId: string;
	kind: "event" | "deletion";
	batchKey: string;
	profileKey: string | null;
	eventTime: string;
	status: Exclude<FailureStatus, "delivered">;
	attempts: number;
	lastStatus?: number;
	lastError?: string;
	/** The event as routed (JSON); none for deletions and dropped events. */
	payload?: string;
}

/**
 * The statement that writes failure rows (a row already there is brought up to date); with
 * `whileStuck`, only while that batch is still in flight and stuck (the sweeper giving up on it
 * loses to a consumer that settled it meanwhile).
 *
 * @example
 * await upsertFailuresStatement(env.DB, "hooks", [{ sourceId: "web", messageId: "m1", status: "retrying", … }], new Date()).run();
 */
export function upsertFailuresStatement(
	db: D1Database,
	destinationId: string,
	failures: readonly Failure[],
	now: Date,
	whileStuck?: { batchId: number; stuckBefore: Date },
): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO delivery_failures (destination_id, source_id, message_id, kind, batch_key, profile_key,
  event_time, status, attempts, last_status, last_error, payload, created_at, updated_at)
SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
       value ->> 7, value ->> 8, value ->> 9, value ->> 10, ?3, ?3
FROM json_each(?2)
WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM delivery_batches
  WHERE id = ?4 AND status IN ('pending', 'retrying') AND next_attempt_at < ?5)
ON CONFLICT (destination_id, source_id, message_id) DO UPDATE SET
  batch_key = excluded.batch_key, status = excluded.status, attempts = excluded.attempts,
  last_status = coalesce(excluded.last_status, delivery_failures.last_status),
  last_error = excluded.last_error, payload = coalesce(excluded.payload, delivery_failures.payload),
  updated_at = excluded.updated_at`,
		)
		.bind(
			destinationId,
			JSON.stringify(
				failures.map((f) => [
					f.sourceId,
					f.messageId,
					f.kind,
					f.batchKey,
					f.profileKey,
					f.eventTime,
					f.status,
					f.attempts,
					f.lastStatus ?? null,
					f.lastError ?? null,
					f.payload ?? null,
				]),
			),
			now.toISOString(),
			whileStuck?.batchId ?? null,
			whileStuck?.stuckBefore.toISOString() ?? null,
		);
}

/**
 * The statement that records events delivered after failing at one destination: their rows
 * become `delivered`, with the attempts and answer, and drop the payload.
 *
 * @example
 * await recoveredStatement(env.DB, "hooks", [{ sourceId: "web", messageId: "m1", attempts: 2, lastStatus: 200 }], new Date()).run();
 */
export function recoveredStatement(
	db: D1Database,
	destinationId: string,
	rows: readonly {
		sourceId: string;
		messageId: string;
		attempts: number;
		lastStatus?: number;
	}[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			// The rows are found through the (destination, source, messageId) key: an UPDATE … FROM
			// the JSON would walk every row of the destination, whose number grows with traffic.
			`UPDATE delivery_failures SET status = 'delivered', attempts = (${MINE} ->> 2),
  last_status = coalesce(${MINE} ->> 3, delivery_failures.last_status), last_error = NULL,
  payload = NULL, updated_at = ?3
WHERE destination_id = ?1 AND (source_id, message_id) IN ${KEYS}`,
		)
		.bind(
			destinationId,
			JSON.stringify(
				rows.map((r) => [
					r.sourceId,
					r.messageId,
					r.attempts,
					r.lastStatus ?? null,
				]),
			),
			now.toISOString(),
		);
}

/**
 * The statement that deletes some events' failure rows at one destination (their person
 * erased).
 *
 * @example
 * await deleteFailuresStatement(env.DB, "hooks", [["web", "m1"]]).run();
 */
export function deleteFailuresStatement(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM delivery_failures WHERE destination_id = ?1 AND (source_id, message_id) IN ${KEYS}`,
		)
		.bind(destinationId, JSON.stringify(keys));
}

/**
 * For each event given, the latest next look of an earlier event of the same profile that is
 * being retried at this destination (a `retrying` failure row whose batch is in flight and not
 * given up on: its next look is after `staleBefore`, or after `sweptStaleBefore` once the
 * sweeper has re-queued it), by `${sourceId}\u001f${messageId}`. The given events never hold
 * each other back: they are sent together, in order.
 *
 * @example
 * const held = await heldBack(env.DB, "hooks", [{ key: ["web", "m2"], profileKey: "u1", eventTime }], staleBefore, sweptStaleBefore);
 */
export async function heldBack(
	db: D1Database,
	destinationId: string,
	items: readonly { key: EventKey; profileKey: string; eventTime: string }[],
	staleBefore: Date,
	sweptStaleBefore: Date = staleBefore,
): Promise<Map<string, string>> {
	const held = new Map<string, string>();
	if (items.length === 0) return held;
	const { results } = await db
		.prepare(
			`SELECT json_extract(j.value, '$.k') AS k, max(b.next_attempt_at) AS until
FROM json_each(?2) AS j
JOIN delivery_failures AS f
  ON f.destination_id = ?1 AND f.profile_key = json_extract(j.value, '$.p')
 AND f.status = 'retrying' AND f.event_time < json_extract(j.value, '$.t')
 AND (f.source_id || char(31) || f.message_id) NOT IN (SELECT json_extract(value, '$.k') FROM json_each(?2))
JOIN delivery_batches AS b
  ON b.batch_key = f.batch_key AND b.status IN ('pending', 'retrying')
 AND b.next_attempt_at > ?3 AND (b.sweeps = 0 OR b.next_attempt_at > ?4)
GROUP BY k`,
		)
		.bind(
			destinationId,
			JSON.stringify(
				items.map((i) => ({
					k: `${i.key[0]}\u001f${i.key[1]}`,
					p: i.profileKey,
					t: i.eventTime,
				})),
			),
			staleBefore.toISOString(),
			sweptStaleBefore.toISOString(),
		)
		.run<{ k: string; until: string }>();
	for (const row of results) held.set(row.k, row.until);
	return held;
}

/**
 * A failed or dead event with what it takes to send it again: the event as routed (kind event)
 * or the deletion record (kind deletion; the joined columns are null when it is gone).
 */
export interface FailedWork {
	id: number;
	destination_id: string;
	source_id: string;
	message_id: string;
	kind: "event" | "deletion";
	status: FailureStatus;
	attempts: number;
	payload: string | null;
	deletion_id: number | null;
	profile_id: string | null;
	identities: string | null;
	requested_at: string | null;
}

/**
 * One page of a destination's failure rows in the given statuses, created at or after `since`,
 * after row id `after`, in id order: what a replay re-sends.
 *
 * @example
 * await failedWork(env.DB, { destinationId: "hooks", statuses: ["dead"], since: "", after: 0, limit: 1000 })
 */
export async function failedWork(
	db: D1Database,
	page: {
		destinationId: string;
		statuses: readonly FailureStatus[];
		since: string;
		after: number;
		limit: number;
	},
): Promise<FailedWork[]> {
	const { results } = await db
		.prepare(
			`SELECT f.id, f.destination_id, f.source_id, f.message_id, f.kind, f.status, f.attempts, f.payload,
       p.id AS deletion_id, p.profile_id, p.identities, p.requested_at
FROM delivery_failures AS f
LEFT JOIN profile_deletions AS p ON f.kind = 'deletion' AND f.message_id = 'deletion:' || p.id
WHERE f.destination_id = ?1 AND f.status IN (SELECT value FROM json_each(?2))
  AND f.created_at >= ?3 AND f.id > ?4
ORDER BY f.id LIMIT ?5`,
		)
		.bind(
			page.destinationId,
			JSON.stringify(page.statuses),
			page.since,
			page.after,
			page.limit,
		)
		.run<FailedWork>();
	return results;
}

/**
 * The statement that puts failure rows back in flight for a replay: `retrying` with no
 * attempts, in the batch that re-sends them (so they hold their profile's later events until
 * they are through, and a second replay does not take them again).
 *
 * @example
 * await replayingStatement(env.DB, [{ id: 12, batchKey: "r:…" }], new Date()).run();
 */
export function replayingStatement(
	db: D1Database,
	rows: readonly { id: number; batchKey: string }[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE delivery_failures SET status = 'retrying', attempts = 0, last_error = 'replayed',
  batch_key = r.batch_key, updated_at = ?1
FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS batch_key FROM json_each(?2)) AS r
WHERE delivery_failures.id = r.row_id`,
		)
		.bind(
			now.toISOString(),
			JSON.stringify(rows.map((r) => [r.id, r.batchKey])),
		);
}

/**
 * For a replay of parked deliveries: forgets the given events' failed or dead rows at one
 * destination (a new failure writes a new row) and returns the events to send again — all but
 * those the log has as delivered since (replayed from the log first), so a delivery replayed from
 * both places is sent once.
 *
 * @example
 * await requeueDeliveries(env.DB, "hooks", [["web", "m1"]]) // [["web", "m1"]]
 */
export async function requeueDeliveries(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
): Promise<EventKey[]> {
	if (keys.length === 0) return [];
	const [delivered] = await db.batch<{ source_id: string; message_id: string }>(
		[
			db
				.prepare(
					`SELECT source_id, message_id FROM delivery_failures
WHERE destination_id = ?1 AND status = 'delivered' AND (source_id, message_id) IN ${KEYS}`,
				)
				.bind(destinationId, JSON.stringify(keys)),
			db
				.prepare(
					`DELETE FROM delivery_failures WHERE destination_id = ?1 AND status IN ('failed', 'dead')
  AND (source_id, message_id) IN ${KEYS}`,
				)
				.bind(destinationId, JSON.stringify(keys)),
		],
	);
	const done = new Set(
		(delivered?.results ?? []).map(
			(r) => `${r.source_id}\u001f${r.message_id}`,
		),
	);
	return keys.filter(
		([source, message]) => !done.has(`${source}\u001f${message}`),
	);
}

/**
 * Deletes failure rows that are final (failed, dead, dropped) and were written before `before`
 * (EVENT_RETENTION_DAYS); rows being retried are kept.
 *
 * @example
 * await deleteFailuresBefore(env.DB, new Date(Date.now() - 30 * 86_400_000)) // rows deleted
 */
export async function deleteFailuresBefore(
	db: D1Database,
	before: Date,
): Promise<number> {
	const { meta } = await db
		.prepare(
			"DELETE FROM delivery_failures WHERE created_at < ?1 AND status <> 'retrying'",
		)
		.bind(before.toISOString())
		.run();
	return meta.changes;
}

/**
 * The statement that deletes every event failure row whose profile key is one of
 * `profileKeys`, for an erasure's D1 batch. Deletion rows are kept.
 *
 * @example
 * await db.batch([profileFailuresStatement(db, ["prof_1", "u1"]), …]);
 */
export function profileFailuresStatement(
	db: D1Database,
	profileKeys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			"DELETE FROM delivery_failures WHERE kind = 'event' AND profile_key IN (SELECT value FROM json_each(?1))",
		)
		.bind(JSON.stringify(profileKeys));
}

/**
 * The statement that counts a person's event failure rows (`{ n }`), for an erasure status batch.
 *
 * @example
 * const [left] = await db.batch([profileFailuresLeftStatement(db, ["prof_1"])]);
 */
export function profileFailuresLeftStatement(
	db: D1Database,
	profileKeys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT COUNT(*) AS n FROM delivery_failures
WHERE kind = 'event' AND profile_key IN (SELECT value FROM json_each(?1))`,
		)
		.bind(JSON.stringify(profileKeys));
}
