/*
 * The delivery log (migrations/0004_delivery.sql): one row per (destination, event) routed to
 * it. Every statement here takes its rows as one JSON parameter (json_each), so a batch of a
 * hundred events costs one D1 round trip, not a hundred.
 */

export type DeliveryStatus =
	| "pending"
	| "retrying"
	| "delivered"
	| "failed"
	| "dead"
	| "dropped";

/** Statuses after which the destination is never sent the event again (except by replay). */
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set([
	"delivered",
	"failed",
	"dead",
	"dropped",
]);

/** A row's identity within one destination: the event's (sourceId, messageId). */
export type EventKey = readonly [sourceId: string, messageId: string];

/**
 * A string form of an EventKey, for maps and sets.
 *
 * @example
 * keyString(["web", "m1"]) // "web\u001fm1"
 */
export function keyString([sourceId, messageId]: EventKey): string {
	return `${sourceId}\u001f${messageId}`;
}

export interface RoutedRow {
	destinationId: string;
	sourceId: string;
	messageId: string;
	kind: "event" | "deletion";
	profileKey: string | null;
	eventTime: string;
}

/**
 * Adds `pending` rows for newly routed events; rows that exist (a redelivered EVENTS batch) are
 * left as they are.
 *
 * @example
 * await recordRouted(env.DB, [{ destinationId: "hooks", sourceId: "web", messageId: "m1", kind: "event", profileKey: "u1", eventTime }], new Date());
 */
export async function recordRouted(
	db: D1Database,
	rows: readonly RoutedRow[],
	now: Date,
): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`INSERT INTO deliveries (destination_id, source_id, message_id, kind, profile_key, event_time, status, created_at, updated_at, next_attempt_at)
SELECT json_extract(value, '$.destinationId'), json_extract(value, '$.sourceId'), json_extract(value, '$.messageId'),
       json_extract(value, '$.kind'), json_extract(value, '$.profileKey'), json_extract(value, '$.eventTime'),
       'pending', ?1, ?1, ?1
FROM json_each(?2) WHERE true
ON CONFLICT (destination_id, source_id, message_id) DO NOTHING`,
		)
		.bind(now.toISOString(), JSON.stringify(rows))
		.run();
}

export interface DeliveryState {
	status: DeliveryStatus;
	attempts: number;
}

/**
 * The log rows of some events at one destination, by keyString.
 *
 * @example
 * const states = await deliveryStates(env.DB, "hooks", [["web", "m1"]]);
 * states.get(keyString(["web", "m1"]))?.status // "pending"
 */
export async function deliveryStates(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
): Promise<Map<string, DeliveryState>> {
	const states = new Map<string, DeliveryState>();
	if (keys.length === 0) return states;
	const { results } = await db
		.prepare(
			`SELECT source_id, message_id, status, attempts FROM deliveries
WHERE destination_id = ?1
  AND (source_id, message_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))`,
		)
		.bind(destinationId, JSON.stringify(keys))
		.run<{
			source_id: string;
			message_id: string;
			status: DeliveryStatus;
			attempts: number;
		}>();
	for (const row of results)
		states.set(keyString([row.source_id, row.message_id]), {
			status: row.status,
			attempts: row.attempts,
		});
	return states;
}

export interface DeliveryUpdate {
	sourceId: string;
	messageId: string;
	status: DeliveryStatus;
	/** Send attempts so far. */
	attempts: number;
	lastStatus?: number;
	lastError?: string;
	nextAttemptAt?: Date;
}

/**
 * Writes the outcome of a send for each event.
 *
 * @example
 * await recordResults(env.DB, "hooks", [{ sourceId: "web", messageId: "m1", status: "delivered", attempts: 1, lastStatus: 200 }], new Date());
 */
export async function recordResults(
	db: D1Database,
	destinationId: string,
	updates: readonly DeliveryUpdate[],
	now: Date,
): Promise<void> {
	if (updates.length === 0) return;
	const at = now.toISOString();
	await db
		.prepare(
			`UPDATE deliveries SET
  status = u.status,
  attempts = u.attempts,
  last_status = coalesce(u.last_status, deliveries.last_status),
  last_error = u.last_error,
  updated_at = ?2,
  next_attempt_at = coalesce(u.next_attempt_at, ?2),
  delivered_at = CASE WHEN u.status = 'delivered' THEN ?2 ELSE deliveries.delivered_at END
FROM (SELECT json_extract(value, '$.sourceId') AS source_id, json_extract(value, '$.messageId') AS message_id,
             json_extract(value, '$.status') AS status, json_extract(value, '$.attempts') AS attempts,
             json_extract(value, '$.lastStatus') AS last_status, json_extract(value, '$.lastError') AS last_error,
             json_extract(value, '$.nextAttemptAt') AS next_attempt_at
      FROM json_each(?3)) AS u
WHERE deliveries.destination_id = ?1 AND deliveries.source_id = u.source_id AND deliveries.message_id = u.message_id`,
		)
		.bind(
			destinationId,
			at,
			JSON.stringify(
				updates.map((u) => ({
					...u,
					nextAttemptAt: u.nextAttemptAt?.toISOString(),
				})),
			),
		)
		.run();
}

/**
 * For each event given, the latest retry time of an earlier event of the same profile that is
 * still on its way to this destination (pending or retrying, and not given up on: its
 * next attempt is after `staleBefore`, or after `sweptStaleBefore` once the sweeper has
 * re-queued it), by keyString. Events of the batch itself never hold each other back: they are
 * sent together, in order.
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
			`SELECT json_extract(j.value, '$.k') AS k, max(d.next_attempt_at) AS until
FROM json_each(?2) AS j
JOIN deliveries AS d
  ON d.destination_id = ?1 AND d.profile_key = json_extract(j.value, '$.p')
 AND d.status IN ('pending', 'retrying') AND d.event_time < json_extract(j.value, '$.t')
 AND d.next_attempt_at > ?3 AND (d.sweeps = 0 OR d.next_attempt_at > ?4)
 AND (d.source_id || char(31) || d.message_id) NOT IN (SELECT json_extract(value, '$.k') FROM json_each(?2))
GROUP BY k`,
		)
		.bind(
			destinationId,
			JSON.stringify(
				items.map((i) => ({
					k: keyString(i.key),
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
 * Puts given events back to `pending` at one destination, attempts reset, when the log has them
 * as failed or dead (a replay of parked deliveries); other rows are left as they are, so a
 * replay never re-sends what was delivered meanwhile.
 *
 * @example
 * await requeueDeliveries(env.DB, "hooks", [["web", "m1"]], new Date());
 */
export async function requeueDeliveries(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
	now: Date,
): Promise<void> {
	if (keys.length === 0) return;
	await db
		.prepare(
			`UPDATE deliveries SET status = 'pending', attempts = 0, last_error = 'replayed', updated_at = ?2, next_attempt_at = ?2
WHERE destination_id = ?1 AND status IN ('failed', 'dead')
  AND (source_id, message_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?3))`,
		)
		.bind(destinationId, now.toISOString(), JSON.stringify(keys))
		.run();
}

/**
 * When the consumer will next look at held events (status unchanged): the end of their hold.
 * The sweeper counts a row as stuck only once this is long past, so a held event is not taken
 * for a lost one.
 *
 * @example
 * await recordHeld(env.DB, "hooks", [{ sourceId: "web", messageId: "m2", nextAttemptAt }], new Date());
 */
export async function recordHeld(
	db: D1Database,
	destinationId: string,
	rows: readonly { sourceId: string; messageId: string; nextAttemptAt: Date }[],
	now: Date,
): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`UPDATE deliveries SET next_attempt_at = h.next_attempt_at, updated_at = ?2
FROM (SELECT value ->> 0 AS source_id, value ->> 1 AS message_id, value ->> 2 AS next_attempt_at
      FROM json_each(?3)) AS h
WHERE deliveries.destination_id = ?1 AND deliveries.source_id = h.source_id
  AND deliveries.message_id = h.message_id AND deliveries.status IN ('pending', 'retrying')`,
		)
		.bind(
			destinationId,
			now.toISOString(),
			JSON.stringify(
				rows.map((r) => [
					r.sourceId,
					r.messageId,
					r.nextAttemptAt.toISOString(),
				]),
			),
		)
		.run();
}

/**
 * The statement that deletes the still-`pending` rows of events, at every destination, for an
 * EVENTS consumer that parks them after fan-out failed on them: nothing is on its way for
 * them, and a replay routes them again. A row a DELIVERIES consumer is working on is recreated
 * by it, so deleting one whose message did go out loses nothing.
 *
 * @example
 * await env.DB.batch([forgetPendingStatement(env.DB, [["web", "m1"]])]);
 */
export function forgetPendingStatement(
	db: D1Database,
	keys: readonly EventKey[],
): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM deliveries WHERE status = 'pending' AND kind = 'event'
  AND (source_id, message_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`,
		)
		.bind(JSON.stringify(keys));
}

/**
 * A log row with what it takes to queue it again: the stored event and its resolved profile
 * (kind event), or the deletion record (kind deletion). The joined columns are null when the
 * event or deletion is gone.
 */
export interface LoggedWork {
	id: number;
	destination_id: string;
	source_id: string;
	message_id: string;
	kind: string;
	status: DeliveryStatus;
	attempts: number;
	sweeps: number;
	last_status: number | null;
	/** The event as stored: always null since D1 keeps no events (the delivery log will carry it). */
	payload: string | null;
	/** events.profile_id: the profile identity resolved the event to (merges keep it current). */
	event_profile_id: string | null;
	deletion_id: number | null;
	profile_id: string | null;
	identities: string | null;
	requested_at: string | null;
}

const LOGGED_WORK = `
SELECT d.id, d.destination_id, d.source_id, d.message_id, d.kind, d.status, d.attempts, d.sweeps,
       d.last_status, NULL AS payload, NULL AS event_profile_id,
       p.id AS deletion_id, p.profile_id, p.identities, p.requested_at
FROM deliveries AS d
LEFT JOIN profile_deletions AS p ON d.kind = 'deletion' AND d.message_id = 'deletion:' || p.id`;

/**
 * One page of a destination's rows in the given statuses, created at or after `since`, after
 * row id `after`, in id order: what a replay re-sends.
 *
 * @example
 * await loggedWork(env.DB, { destinationId: "hooks", statuses: ["dead"], since: "", after: 0, limit: 1000 })
 */
export async function loggedWork(
	db: D1Database,
	page: {
		destinationId: string;
		statuses: readonly DeliveryStatus[];
		since: string;
		after: number;
		limit: number;
	},
): Promise<LoggedWork[]> {
	const { results } = await db
		.prepare(
			`${LOGGED_WORK}
WHERE d.destination_id = ?1 AND d.status IN (SELECT value FROM json_each(?2))
  AND d.created_at >= ?3 AND d.id > ?4
ORDER BY d.id LIMIT ?5`,
		)
		.bind(
			page.destinationId,
			JSON.stringify(page.statuses),
			page.since,
			page.after,
			page.limit,
		)
		.run<LoggedWork>();
	return results;
}

/**
 * Resets rows to be sent again from scratch (a replay): `pending`, no attempts, no sweeps.
 *
 * @example
 * await resetForReplay(env.DB, [12, 13], new Date());
 */
export async function resetForReplay(
	db: D1Database,
	ids: readonly number[],
	now: Date,
): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare(
			`UPDATE deliveries SET status = 'pending', attempts = 0, sweeps = 0, last_error = 'replayed',
  updated_at = ?1, next_attempt_at = ?1
WHERE id IN (SELECT value FROM json_each(?2))`,
		)
		.bind(now.toISOString(), JSON.stringify(ids))
		.run();
}

/**
 * In-flight rows (pending or retrying) whose next look by the consumer was due before
 * `stuckBefore`: their DELIVERIES message was lost, or it gave up. Oldest first.
 *
 * @example
 * await stuckDeliveries(env.DB, new Date(Date.now() - 300_000), 1000)
 */
export async function stuckDeliveries(
	db: D1Database,
	stuckBefore: Date,
	limit: number,
): Promise<LoggedWork[]> {
	const { results } = await db
		.prepare(
			`${LOGGED_WORK}
WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at < ?1
ORDER BY d.next_attempt_at LIMIT ?2`,
		)
		.bind(stuckBefore.toISOString(), limit)
		.run<LoggedWork>();
	return results;
}

/**
 * Marks stuck rows as queued again (`pending`, next look now, one more sweep) — only those
 * still stuck, so a row the consumer finished meanwhile is left alone — and returns their ids.
 *
 * @example
 * const ids = await markSwept(env.DB, [12], stuckBefore, new Date());
 */
export async function markSwept(
	db: D1Database,
	ids: readonly number[],
	stuckBefore: Date,
	now: Date,
): Promise<number[]> {
	if (ids.length === 0) return [];
	const { results } = await db
		.prepare(
			`UPDATE deliveries SET status = 'pending', sweeps = sweeps + 1, updated_at = ?1, next_attempt_at = ?1
WHERE id IN (SELECT value FROM json_each(?2))
  AND status IN ('pending', 'retrying') AND next_attempt_at < ?3
RETURNING id`,
		)
		.bind(now.toISOString(), JSON.stringify(ids), stuckBefore.toISOString())
		.run<{ id: number }>();
	return results.map((r) => r.id);
}

/**
 * Gives up on stuck rows (`dead`, with the reason), only those still stuck; returns their ids.
 *
 * @example
 * const ids = await markStuckDead(env.DB, [{ id: 12, error: "…" }], stuckBefore, new Date());
 */
export async function markStuckDead(
	db: D1Database,
	rows: readonly { id: number; error: string }[],
	stuckBefore: Date,
	now: Date,
): Promise<number[]> {
	if (rows.length === 0) return [];
	const { results } = await db
		.prepare(
			`UPDATE deliveries SET status = 'dead', last_error = g.error, updated_at = ?1
FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS error FROM json_each(?2)) AS g
WHERE deliveries.id = g.row_id
  AND deliveries.status IN ('pending', 'retrying') AND deliveries.next_attempt_at < ?3
RETURNING id`,
		)
		.bind(
			now.toISOString(),
			JSON.stringify(rows.map((r) => [r.id, r.error])),
			stuckBefore.toISOString(),
		)
		.run<{ id: number }>();
	return results.map((r) => r.id);
}

/**
 * Deletes finished log rows created before `before` (the event retention period: a row whose
 * event is gone cannot be replayed anyway). Rows still in flight are kept.
 *
 * @example
 * await deleteDeliveriesBefore(env.DB, new Date(Date.now() - 30 * 86_400_000)) // rows deleted
 */
export async function deleteDeliveriesBefore(
	db: D1Database,
	before: Date,
): Promise<number> {
	const { meta } = await db
		.prepare(
			"DELETE FROM deliveries WHERE created_at < ?1 AND status NOT IN ('pending', 'retrying')",
		)
		.bind(before.toISOString())
		.run();
	return meta.changes;
}

/**
 * The statements that cancel and delete a person's event deliveries, for the erasure's D1 batch:
 * the first counts those still in flight (`{ n }`: pending or retrying, so cancelled), the second
 * deletes every row whose profile_key is one of `profileKeys` (their profile ids, and the userIds
 * and anonymousIds rows of events without a profile are keyed by). Deletion rows are kept.
 *
 * @example
 * await db.batch([...profileDeliveriesStatements(db, ["prof_1", "u1", "anon-1"]), ...]);
 */
export function profileDeliveriesStatements(
	db: D1Database,
	profileKeys: readonly string[],
): [D1PreparedStatement, D1PreparedStatement] {
	const keys = JSON.stringify(profileKeys);
	const where =
		"kind = 'event' AND profile_key IN (SELECT value FROM json_each(?1))";
	return [
		db
			.prepare(
				`SELECT COUNT(*) AS n FROM deliveries WHERE ${where} AND status IN ('pending', 'retrying')`,
			)
			.bind(keys),
		db.prepare(`DELETE FROM deliveries WHERE ${where}`).bind(keys),
	];
}

/**
 * The statement that counts a person's event rows left in the log (`{ n, in_flight }`), for an
 * erasure status batch.
 *
 * @example
 * const [left] = await db.batch([profileDeliveriesLeftStatement(db, ["prof_1"])]);
 */
export function profileDeliveriesLeftStatement(
	db: D1Database,
	profileKeys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT COUNT(*) AS n, coalesce(SUM(status IN ('pending', 'retrying')), 0) AS in_flight
FROM deliveries WHERE kind = 'event' AND profile_key IN (SELECT value FROM json_each(?1))`,
		)
		.bind(JSON.stringify(profileKeys));
}

/** One destination's forwarding of a profile deletion, as the log has it. */
export interface DeletionDeliveryRow {
	destination_id: string;
	status: DeliveryStatus;
	attempts: number;
	last_status: number | null;
	last_error: string | null;
	updated_at: string;
}

/**
 * The statement that reads the log rows forwarding one profile deletion, by destination, for an
 * erasure status batch (rows are {@link DeletionDeliveryRow}).
 *
 * @example
 * const [rows] = await db.batch([deletionDeliveriesStatement(db, 7)]);
 */
export function deletionDeliveriesStatement(
	db: D1Database,
	deletionId: number,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT destination_id, status, attempts, last_status, last_error, updated_at FROM deliveries
WHERE kind = 'deletion' AND message_id = ?1 ORDER BY destination_id`,
		)
		.bind(`deletion:${deletionId}`);
}

/**
 * Deletes some events' rows at one destination (events of an erased person that a DELIVERIES
 * message still carried).
 *
 * @example
 * await deleteDeliveries(env.DB, "hooks", [["web", "m1"]]);
 */
export async function deleteDeliveries(
	db: D1Database,
	destinationId: string,
	keys: readonly EventKey[],
): Promise<void> {
	if (keys.length === 0) return;
	await db
		.prepare(
			`DELETE FROM deliveries WHERE destination_id = ?1
  AND (source_id, message_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))`,
		)
		.bind(destinationId, JSON.stringify(keys))
		.run();
}

/**
 * Adds a pending delivery-log row (kind `deletion`, messageId `deletion:<id>`) for the
 * destination for every profile deletion up to `upTo` whose forwarding has not started; rows
 * it already has stay as they are.
 *
 * @example
 * await addDeletionRows(env.DB, "hooks", 42, new Date());
 */
export async function addDeletionRows(
	db: D1Database,
	destinationId: string,
	upTo: number,
	now: Date,
): Promise<void> {
	await db
		.prepare(
			`INSERT INTO deliveries (destination_id, source_id, message_id, kind, profile_key, event_time, status, created_at, updated_at, next_attempt_at)
SELECT ?1, '', 'deletion:' || p.id, 'deletion', p.profile_id, p.requested_at, 'pending', ?2, ?2, ?2
FROM profile_deletions AS p WHERE p.forwarding_started_at IS NULL AND p.id <= ?3
ON CONFLICT (destination_id, source_id, message_id) DO NOTHING`,
		)
		.bind(destinationId, now.toISOString(), upTo)
		.run();
}

/** A deletion whose delivery-log row at one destination is still pending. */
export interface PendingDeletionRow {
	id: number;
	profile_id: string;
	identities: string;
	requested_at: string;
}

/**
 * The deletions still pending at a destination whose identifiers are not hashed yet, oldest
 * first, at most `limit`.
 *
 * @example
 * const rows = await pendingDeletionRows(env.DB, "hooks", 1000);
 */
export async function pendingDeletionRows(
	db: D1Database,
	destinationId: string,
	limit: number,
): Promise<PendingDeletionRow[]> {
	const { results } = await db
		.prepare(
			`SELECT p.id, p.profile_id, p.identities, p.requested_at
FROM deliveries AS d JOIN profile_deletions AS p ON d.message_id = 'deletion:' || p.id
WHERE d.destination_id = ?1 AND d.kind = 'deletion' AND d.status = 'pending'
  AND p.identities_hashed_at IS NULL
ORDER BY p.id LIMIT ?2`,
		)
		.bind(destinationId, limit)
		.run<PendingDeletionRow>();
	return results;
}
