/*
 * The delivery log's batch rows (migrations/0011_delivery_batches.sql): one per DELIVERIES
 * message. A batch is written twice in a healthy life — inserted at fan-out, marked done by the
 * consumer — whatever the number of events it carries. Statements take their rows as one JSON
 * parameter (json_each), so a consumer run costs one round trip, not one per message.
 *
 * The message of a batch in flight is kept apart, in `delivery_bodies` (migrations/0017): a
 * trigger deletes it when its batch is done or deleted, so the pages it took are reused.
 */

/** pending: queued; retrying: a retry of its message is scheduled; done: every event is final. */
export type BatchStatus = "pending" | "retrying" | "done";

/** A batch to log: its key, destination, what it carries and its message. */
export interface NewBatch {
	key: string;
	destinationId: string;
	kind: "events" | "deletion";
	deletionId?: number;
	events: number;
	/** The DELIVERIES message, as JSON. */
	body: string;
	/** When the consumer should first see it (a delayed message); default now. */
	nextAttemptAt?: Date;
}

/**
 * The statements (run them in one D1 batch, in order) that log batches as `pending` with their
 * messages; a key already logged (fan-out run again, a consumer racing fan-out) is left as it is.
 *
 * @example
 * await env.DB.batch(insertBatchesStatements(env.DB, [{ key, destinationId: "hooks", kind: "events", events: 2, body }], new Date()));
 */
export function insertBatchesStatements(
	db: D1Database,
	batches: readonly NewBatch[],
	now: Date,
): D1PreparedStatement[] {
	const rows = JSON.stringify(
		batches.map((b) => [
			b.key,
			b.destinationId,
			b.kind,
			b.deletionId ?? null,
			b.events,
			b.body,
			b.nextAttemptAt?.toISOString() ?? null,
		]),
	);
	return [
		db
			.prepare(
				`INSERT INTO delivery_batches (batch_key, destination_id, kind, deletion_id, events, status,
  created_at, updated_at, next_attempt_at)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, 'pending', ?1, ?1,
       coalesce(value ->> 6, ?1)
FROM json_each(?2) WHERE true
ON CONFLICT (batch_key) DO NOTHING`,
			)
			.bind(now.toISOString(), rows),
		db
			.prepare(
				`INSERT INTO delivery_bodies (batch_id, body)
SELECT b.id, j.value ->> 5 FROM json_each(?1) AS j JOIN delivery_batches AS b ON b.batch_key = j.value ->> 0
WHERE b.status <> 'done'
ON CONFLICT (batch_id) DO NOTHING`,
			)
			.bind(rows),
	];
}

/** What the consumer needs of a batch row. */
export interface BatchState {
	status: BatchStatus;
	/** Sends of the batch so far: from the second on, only events with a retrying failure row go. */
	attempts: number;
}

/**
 * The rows of some batches, by key.
 *
 * @example
 * (await batchStates(env.DB, ["b:abc"])).get("b:abc") // { status: "pending", attempts: 0 }
 */
export async function batchStates(
	db: D1Database,
	keys: readonly string[],
): Promise<Map<string, BatchState>> {
	const states = new Map<string, BatchState>();
	if (keys.length === 0) return states;
	const { results } = await db
		.prepare(
			`SELECT batch_key, status, attempts FROM delivery_batches
WHERE batch_key IN (SELECT value FROM json_each(?1))`,
		)
		.bind(JSON.stringify(keys))
		.run<{ batch_key: string; status: BatchStatus; attempts: number }>();
	for (const row of results)
		states.set(row.batch_key, { status: row.status, attempts: row.attempts });
	return states;
}

/** The outcome of one consumer run on a batch. */
export interface BatchUpdate {
	key: string;
	status: BatchStatus;
	/** Whether anything was sent (counts an attempt). */
	sent: boolean;
	/** Events delivered by this run. */
	delivered: number;
	lastStatus?: number;
	lastError?: string;
	/** For `retrying`: when its message comes back. */
	nextAttemptAt?: Date;
}

/**
 * The statement that records what a consumer run did to batches; a `done` batch's message goes
 * (the trigger of migrations/0017).
 *
 * @example
 * await settleBatchesStatement(env.DB, [{ key, status: "done", sent: true, delivered: 2 }], new Date()).run();
 */
export function settleBatchesStatement(
	db: D1Database,
	updates: readonly BatchUpdate[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE delivery_batches SET
  status = u.status,
  attempts = delivery_batches.attempts + u.sent,
  delivered = delivery_batches.delivered + u.delivered,
  last_status = coalesce(u.last_status, delivery_batches.last_status),
  last_error = u.last_error,
  updated_at = ?1,
  next_attempt_at = coalesce(u.next_attempt_at, ?1),
  settled_at = CASE WHEN u.status = 'done' THEN ?1 END
FROM (SELECT value ->> 0 AS batch_key, value ->> 1 AS status, value ->> 2 AS sent, value ->> 3 AS delivered,
             value ->> 4 AS last_status, value ->> 5 AS last_error, value ->> 6 AS next_attempt_at
      FROM json_each(?2)) AS u
WHERE delivery_batches.batch_key = u.batch_key AND delivery_batches.status <> 'done'`,
		)
		.bind(
			now.toISOString(),
			JSON.stringify(
				updates.map((u) => [
					u.key,
					u.status,
					u.sent ? 1 : 0,
					u.delivered,
					u.lastStatus ?? null,
					u.lastError ?? null,
					u.nextAttemptAt?.toISOString() ?? null,
				]),
			),
		);
}

/** A batch in flight, with its message: what the sweeper and replay queue again. */
export interface InFlightBatch {
	id: number;
	batch_key: string;
	destination_id: string;
	kind: "events" | "deletion";
	status: BatchStatus;
	attempts: number;
	sweeps: number;
	last_status: number | null;
	body: string | null;
}

const IN_FLIGHT = `SELECT id, batch_key, destination_id, kind, status, attempts, sweeps, last_status, d.body
FROM delivery_batches LEFT JOIN delivery_bodies AS d ON d.batch_id = delivery_batches.id`;

/**
 * Batches in flight whose next look by the consumer was due before `stuckBefore`: their
 * DELIVERIES message was lost, or the queue gave up on it. Oldest first.
 *
 * @example
 * await stuckBatches(env.DB, new Date(Date.now() - 300_000), 100)
 */
export async function stuckBatches(
	db: D1Database,
	stuckBefore: Date,
	limit: number,
): Promise<InFlightBatch[]> {
	const { results } = await db
		.prepare(
			`${IN_FLIGHT}
WHERE status IN ('pending', 'retrying') AND next_attempt_at < ?1
ORDER BY next_attempt_at LIMIT ?2`,
		)
		.bind(stuckBefore.toISOString(), limit)
		.run<InFlightBatch>();
	return results;
}

/**
 * One page of a destination's batches in flight in the given statuses, created at or after
 * `since`, after row id `after`, in id order: what a replay of lost messages re-sends.
 *
 * @example
 * await inFlightBatches(env.DB, { destinationId: "hooks", statuses: ["pending"], since: "", after: 0, limit: 1000 })
 */
export async function inFlightBatches(
	db: D1Database,
	page: {
		destinationId: string;
		statuses: readonly ("pending" | "retrying")[];
		since: string;
		after: number;
		limit: number;
	},
): Promise<InFlightBatch[]> {
	const { results } = await db
		.prepare(
			`${IN_FLIGHT}
WHERE status IN (SELECT value FROM json_each(?2)) AND destination_id = ?1
  AND created_at >= ?3 AND id > ?4
ORDER BY id LIMIT ?5`,
		)
		.bind(
			page.destinationId,
			JSON.stringify(page.statuses),
			page.since,
			page.after,
			page.limit,
		)
		.run<InFlightBatch>();
	return results;
}

/**
 * Marks batches as queued again (next look now; `sweep` counts one more sweep, a replay resets
 * the count) — only those still in flight and, for a sweep, still stuck — and returns their ids.
 *
 * @example
 * const ids = await markRequeued(env.DB, [12], { sweep: true, stuckBefore }, new Date());
 */
export async function markRequeued(
	db: D1Database,
	ids: readonly number[],
	how: { sweep: true; stuckBefore: Date } | { sweep: false },
	now: Date,
): Promise<number[]> {
	if (ids.length === 0) return [];
	const { results } = await db
		.prepare(
			`UPDATE delivery_batches SET sweeps = CASE WHEN ?3 THEN sweeps + 1 ELSE 0 END,
  updated_at = ?1, next_attempt_at = ?1
WHERE id IN (SELECT value FROM json_each(?2)) AND status IN ('pending', 'retrying')
  AND (NOT ?3 OR next_attempt_at < ?4)
RETURNING id`,
		)
		.bind(
			now.toISOString(),
			JSON.stringify(ids),
			how.sweep ? 1 : 0,
			how.sweep ? how.stuckBefore.toISOString() : "",
		)
		.run<{ id: number }>();
	return results.map((r) => r.id);
}

/**
 * The statement that ends stuck batches the sweeper gives up on (done, with the reason; their
 * events get dead failure rows in the same D1 batch), only those still stuck.
 *
 * @example
 * await env.DB.batch([giveUpStatement(env.DB, [{ id: 12, error: "…" }], stuckBefore, new Date()), …]);
 */
export function giveUpStatement(
	db: D1Database,
	rows: readonly { id: number; error: string }[],
	stuckBefore: Date,
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE delivery_batches SET status = 'done', last_error = g.error, updated_at = ?1, settled_at = ?1
FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS error FROM json_each(?2)) AS g
WHERE delivery_batches.id = g.row_id
  AND delivery_batches.status IN ('pending', 'retrying') AND delivery_batches.next_attempt_at < ?3`,
		)
		.bind(
			now.toISOString(),
			JSON.stringify(rows.map((r) => [r.id, r.error])),
			stuckBefore.toISOString(),
		);
}

/**
 * How long a done batch of events is kept: the default message retention of a Cloudflare queue
 * (4 days), so a copy of its message the queue delivers late still finds it done and is
 * skipped. Raise it with the DELIVERIES queue's retention.
 */
export const DONE_BATCH_DAYS = 4;

/**
 * Deletes done batches settled before their cutoff: `events` for batches of events (see
 * {@link DONE_BATCH_DAYS}), `deletions` for deletion forwarding (kept with the failure rows, for
 * the erasure's record). Batches in flight are kept. The rows are walked in id order (ids grow
 * with time), so no index on time is needed and the rows read are about the rows deleted.
 *
 * @example
 * await deleteDoneBatchesBefore(env.DB, { events: fourDaysAgo, deletions: thirtyDaysAgo }) // rows deleted
 */
export async function deleteDoneBatchesBefore(
	db: D1Database,
	before: { events: Date; deletions: Date },
): Promise<number> {
	const events = before.events.toISOString();
	const deletions = before.deletions.toISOString();
	const { meta } = await db
		.prepare(
			`DELETE FROM delivery_batches
WHERE id < coalesce((SELECT id FROM delivery_batches WHERE created_at >= ?3 ORDER BY id LIMIT 1),
                    (SELECT max(id) + 1 FROM delivery_batches))
  AND status = 'done'
  AND (kind = 'events' AND settled_at < ?1 OR kind = 'deletion' AND settled_at < ?2)`,
		)
		.bind(events, deletions, events > deletions ? events : deletions)
		.run();
	return meta.changes;
}

/* ?1: JSON array of profile keys (resolved profile ids, and the userIds/anonymousIds events
   without a profile are keyed by). An item matches when its profile key is one of them. */
const ITEM_OF_PROFILES = `coalesce(nullif(i.value ->> '$.event.context.profileId', ''), i.value ->> '$.event.userId',
  i.value ->> '$.event.anonymousId') IN (SELECT value FROM json_each(?1))`;

/**
 * The statement that counts a person's events in batches in flight (`{ n }`).
 *
 * @example
 * const [left] = await db.batch([profileEventsInFlightStatement(db, ["prof_1"])]);
 */
export function profileEventsInFlightStatement(
	db: D1Database,
	profileKeys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT COUNT(*) AS n FROM delivery_batches AS b JOIN delivery_bodies AS d ON d.batch_id = b.id,
  json_each(d.body, '$.items') AS i
WHERE b.status IN ('pending', 'retrying') AND b.kind = 'events'
  AND b.next_attempt_at > '' AND ${ITEM_OF_PROFILES}`,
		)
		.bind(JSON.stringify(profileKeys));
}

/**
 * The statement that takes a person's events out of the bodies of batches in flight (so the
 * sweeper or a replay never sends them; a message already queued is checked against
 * erased_profiles by the consumer).
 *
 * @example
 * await db.batch([stripProfilesStatement(db, ["prof_1", "u1"])]);
 */
export function stripProfilesStatement(
	db: D1Database,
	profileKeys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE delivery_bodies SET body = json_set(body, '$.items',
  (SELECT json_group_array(json(i.value)) FROM json_each(delivery_bodies.body, '$.items') AS i
   WHERE NOT (${ITEM_OF_PROFILES})))
WHERE batch_id IN (SELECT id FROM delivery_batches
    WHERE status IN ('pending', 'retrying') AND kind = 'events' AND next_attempt_at > '')
  AND EXISTS (SELECT 1 FROM json_each(delivery_bodies.body, '$.items') AS i WHERE ${ITEM_OF_PROFILES})`,
		)
		.bind(JSON.stringify(profileKeys));
}

/**
 * The statement that deletes the batches an EVENTS consumer gave up on: never tried, and every
 * event in them is one it parks after fan-out failed on it (a replay routes them again). A
 * batch whose message did go out is written again by the consumer, so nothing is lost.
 *
 * @example
 * await env.DB.batch([forgetPendingStatement(env.DB, [["web", "m1"]])]);
 */
export function forgetPendingStatement(
	db: D1Database,
	keys: readonly (readonly [string, string])[],
): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM delivery_batches
WHERE status IN ('pending', 'retrying') AND next_attempt_at > '' AND status = 'pending' AND attempts = 0
  AND kind = 'events' AND EXISTS (SELECT 1 FROM delivery_bodies WHERE batch_id = delivery_batches.id)
  AND NOT EXISTS (SELECT 1 FROM delivery_bodies AS d, json_each(d.body, '$.items') AS i
                  WHERE d.batch_id = delivery_batches.id AND (i.value ->> '$.sourceId') || char(31) || (i.value ->> '$.event.messageId')
                        NOT IN (SELECT (value ->> 0) || char(31) || (value ->> 1) FROM json_each(?1)))`,
		)
		.bind(JSON.stringify(keys));
}

/**
 * The statements (one D1 batch, in order) that log, for a destination, the forwarding of every
 * profile deletion up to `upTo` whose forwarding has not started: one batch per deletion, its
 * message built from the record. Deletions it already has stay as they are.
 *
 * @example
 * await env.DB.batch(addDeletionBatchesStatements(env.DB, "hooks", 42, new Date()));
 */
export function addDeletionBatchesStatements(
	db: D1Database,
	destinationId: string,
	upTo: number,
	now: Date,
): D1PreparedStatement[] {
	return [
		db
			.prepare(
				`INSERT INTO delivery_batches (batch_key, destination_id, kind, deletion_id, events, status,
  created_at, updated_at, next_attempt_at)
SELECT 'deletion:' || p.id || ':' || ?1, ?1, 'deletion', p.id, 1, 'pending', ?2, ?2, ?2
FROM profile_deletions AS p WHERE p.forwarding_started_at IS NULL AND p.id <= ?3
ON CONFLICT (batch_key) DO NOTHING`,
			)
			.bind(destinationId, now.toISOString(), upTo),
		db
			.prepare(
				`INSERT INTO delivery_bodies (batch_id, body)
SELECT b.id,
       json_object('kind', 'deletion', 'destinationId', ?1, 'batch', b.batch_key,
         'deletion', json_object('id', p.id, 'profileId', p.profile_id,
           'identities', CASE WHEN json_valid(p.identities) THEN json(p.identities) ELSE json('[]') END,
           'requestedAt', p.requested_at))
FROM delivery_batches AS b JOIN profile_deletions AS p ON p.id = b.deletion_id
WHERE b.kind = 'deletion' AND b.destination_id = ?1 AND b.deletion_id <= ?2
  AND b.status = 'pending' AND b.attempts = 0 AND b.next_attempt_at > ''
ON CONFLICT (batch_id) DO NOTHING`,
			)
			.bind(destinationId, upTo),
	];
}

/**
 * The messages of a destination's deletion batches never tried yet (their message may have been
 * lost), oldest first, at most `limit`.
 *
 * @example
 * const bodies = await unsentDeletionBodies(env.DB, "hooks", 1000);
 */
export async function unsentDeletionBodies(
	db: D1Database,
	destinationId: string,
	limit: number,
): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT d.body FROM delivery_batches AS b JOIN delivery_bodies AS d ON d.batch_id = b.id
WHERE b.kind = 'deletion' AND b.destination_id = ?1 AND b.status = 'pending' AND b.attempts = 0
  AND b.next_attempt_at > ''
ORDER BY b.deletion_id LIMIT ?2`,
		)
		.bind(destinationId, limit)
		.run<{ body: string }>();
	return results.map((r) => r.body);
}
