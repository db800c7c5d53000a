/*
 * The delivery log (migrations/0011_delivery_batches.sql): a row per DELIVERIES message
 * (db/delivery-batches.ts) and a row per event a destination has not taken
 * (db/delivery-failures.ts). This module holds what both share — statuses, event keys — and the
 * statements that span both: a person's erasure, and how a deletion's forwarding stands.
 */
import {
	DONE_BATCH_DAYS,
	deleteDoneBatchesBefore,
	profileEventsInFlightStatement,
	stripProfilesStatement,
} from "./delivery-batches";
import {
	deleteFailuresBefore,
	profileFailuresLeftStatement,
	profileFailuresStatement,
} from "./delivery-failures";

export { forgetPendingStatement } from "./delivery-batches";

/**
 * An event's state at one destination: pending (in a batch in flight, not tried yet) |
 * retrying | delivered | failed (refused, not retried) | dead (attempts used up) | dropped (the
 * destination cannot take it; last_error says why). The log keeps a row per event only for
 * retrying, failed, dead and dropped.
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

/** An event's identity within one destination: its (sourceId, messageId). */
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

/**
 * The statements that cancel and delete a person's deliveries, for the erasure's D1 batch, in
 * order: count the person's events in batches in flight (`{ n }`: cancelled), delete every
 * event failure row whose profile key is one of `profileKeys` (their profile ids, and the
 * userIds and anonymousIds events without a profile are keyed by), and take their events out
 * of the bodies of batches in flight. Deletion forwarding is kept.
 *
 * @example
 * await db.batch([...profileDeliveriesStatements(db, ["prof_1", "u1", "anon-1"]), ...]);
 */
export function profileDeliveriesStatements(
	db: D1Database,
	profileKeys: readonly string[],
): [
	inFlight: D1PreparedStatement,
	failures: D1PreparedStatement,
	bodies: D1PreparedStatement,
] {
	return [
		profileEventsInFlightStatement(db, profileKeys),
		profileFailuresStatement(db, profileKeys),
		stripProfilesStatement(db, profileKeys),
	];
}

/**
 * The statements that count a person's events left in the log, for an erasure status batch:
 * failure rows (`{ n }`), and events in the bodies of batches in flight (`{ n }`).
 *
 * @example
 * const [failures, inFlight] = await db.batch(profileDeliveriesLeftStatements(db, ["prof_1"]));
 */
export function profileDeliveriesLeftStatements(
	db: D1Database,
	profileKeys: readonly string[],
): [failures: D1PreparedStatement, inFlight: D1PreparedStatement] {
	return [
		profileFailuresLeftStatement(db, profileKeys),
		profileEventsInFlightStatement(db, profileKeys),
	];
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
 * The statement that reads how one profile deletion's forwarding stands, by destination (the
 * `deletion_forwarding` view over both tables), for an erasure status batch.
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
			`SELECT destination_id, status, attempts, last_status, last_error, updated_at FROM deletion_forwarding
WHERE deletion_id = ?1 ORDER BY destination_id`,
		)
		.bind(deletionId);
}

/**
 * The log's retention, for the hourly cron: final failure rows written before `before`
 * (EVENT_RETENTION_DAYS) and done batches past their window (db/delivery-batches.ts). Returns
 * the rows deleted from each table.
 *
 * @example
 * await pruneDeliveryLog(env.DB, thirtyDaysAgo, new Date()) // { failures: 3, batches: 1200 }
 */
export async function pruneDeliveryLog(
	db: D1Database,
	before: Date,
	now: Date,
): Promise<{ failures: number; batches: number }> {
	return {
		failures: await deleteFailuresBefore(db, before),
		batches: await deleteDoneBatchesBefore(db, {
			events: new Date(now.getTime() - DONE_BATCH_DAYS * 86_400_000),
			deletions: before,
		}),
	};
}
