import type { EnrichedEvent } from "../event";
/*
 * Parked work (migrations/0006_parked.sql): events and deliveries the pipeline gave up on, kept
 * with the reason until an operator replays or erasure removes them. Every query on the table
 * lives here. Payloads are bound as plain text and never read with SQLite's JSON functions:
 * a parked event may be exactly what those functions refuse.
 */

/** Why a row was parked. */
export type ParkedReason =
	/** Storage refused the event itself (the rest of its batch was stored). */
	| "storage_refused"
	/** Identity resolution or fan-out failed on the event itself (the rest of its batch went on). */
	| "processing_refused"
	/** A queue message that holds no events the consumer can read, kept as it came. */
	| "malformed"
	/** The EVENTS queue gave up on its message after max_retries. */
	| "dead_lettered"
	/** A spooled message the queue would not take, kept instead of blocking the spool. */
	| "spool_unsendable"
	/** A destination gave up on the event (the DELIVERIES dead-letter queue). */
	| "delivery_dead"
	/** An operator replayed the row and it was refused again (the error says why). */
	| "replay_refused";

/** Every reason, for input validation. */
export const PARKED_REASONS = [
	"storage_refused",
	"processing_refused",
	"malformed",
	"dead_lettered",
	"spool_unsendable",
	"delivery_dead",
	"replay_refused",
] as const satisfies readonly ParkedReason[];

export type ParkedKind = "event" | "delivery";

/** Every kind, for input validation. */
export const PARKED_KINDS = [
	"event",
	"delivery",
] as const satisfies readonly ParkedKind[];

/** A row to park. */
export interface ParkInput {
	kind: ParkedKind;
	sourceId: string;
	messageId?: string | undefined;
	destinationId?: string | undefined;
	profileId?: string | undefined;
	userId?: string | undefined;
	anonymousId?: string | undefined;
	reason: ParkedReason;
	error: string;
	/** The event (or dead letter) as JSON text. */
	payload: string;
}

/**
 * The row that parks one stored or queued event, with the ids erasure looks rows up by (its
 * profile, user and anonymous ids) read from the event itself.
 *
 * @example
 * parkStatements(env.DB, [eventParkInput({ sourceId, event, json }, "dead_lettered", error)], now)
 */
export function eventParkInput(
	item: { sourceId: string; event: EnrichedEvent; json: string },
	reason: ParkedReason,
	error: string,
): ParkInput {
	const { sourceId, event, json } = item;
	// Decoding checks the messageId only: a queued line may lack its context.
	const profileId = event.context?.profileId;
	return {
		kind: "event",
		sourceId,
		messageId: event.messageId,
		profileId: typeof profileId === "string" ? profileId : undefined,
		userId: typeof event.userId === "string" ? event.userId : undefined,
		anonymousId:
			typeof event.anonymousId === "string" ? event.anonymousId : undefined,
		reason,
		error,
		payload: json,
	};
}

/** A parked row as the admin API shows it. */
export interface ParkedRow {
	id: number;
	kind: ParkedKind;
	sourceId: string;
	messageId: string | null;
	destinationId: string | null;
	profileId: string | null;
	userId: string | null;
	anonymousId: string | null;
	reason: ParkedReason;
	error: string;
	payload: string;
	parkedAt: string;
	replayedAt: string | null;
}

/** Longest error text kept per row. */
const MAX_ERROR_CHARS = 2000;

/*
 * Idempotent per event: a row that waits for the same event (and destination) already is left
 * as it is, so a redelivered dead letter or a batch finished twice parks nothing twice. Rows
 * without a messageId (a malformed message) are always added.
 */
const INSERT = `INSERT INTO parked (kind, source_id, message_id, destination_id, profile_id, user_id, anonymous_id, reason, error, payload, parked_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
WHERE ?3 IS NULL OR NOT EXISTS (
  SELECT 1 FROM parked WHERE source_id = ?2 AND message_id = ?3 AND replayed_at IS NULL
    AND kind = ?1 AND destination_id IS ?4)`;

/**
 * Parks rows in one D1 batch. Text is made well-formed first (a lone surrogate becomes U+FFFD),
 * so whatever the input, parking itself cannot fail on it.
 *
 * @example
 * await park(env.DB, [{ kind: "event", sourceId: "web", messageId: "m1", reason: "storage_refused", error: "malformed JSON", payload }], new Date());
 */
export async function park(
	db: D1Database,
	rows: readonly ParkInput[],
	now: Date,
): Promise<void> {
	if (rows.length === 0) return;
	await db.batch(parkStatements(db, rows, now));
}

/**
 * The statements that park rows, for a caller's own D1 batch (so parking commits together with
 * what it stands for, e.g. a spooled message's deletion).
 *
 * @example
 * await env.DB.batch([...parkStatements(env.DB, rows, now), deleteSpooled]);
 */
export function parkStatements(
	db: D1Database,
	rows: readonly ParkInput[],
	now: Date,
): D1PreparedStatement[] {
	const statement = db.prepare(INSERT);
	const at = now.toISOString();
	return rows.map((row) =>
		statement.bind(
			row.kind,
			wellFormed(row.sourceId),
			optional(row.messageId),
			optional(row.destinationId),
			optional(row.profileId),
			optional(row.userId),
			optional(row.anonymousId),
			row.reason,
			wellFormed(row.error).slice(0, MAX_ERROR_CHARS),
			wellFormed(row.payload),
			at,
		),
	);
}

interface Row {
	id: number;
	kind: ParkedKind;
	source_id: string;
	message_id: string | null;
	destination_id: string | null;
	profile_id: string | null;
	user_id: string | null;
	anonymous_id: string | null;
	reason: ParkedReason;
	error: string;
	payload: string;
	parked_at: string;
	replayed_at: string | null;
}

const COLUMNS =
	"id, kind, source_id, message_id, destination_id, profile_id, user_id, anonymous_id, reason, error, payload, parked_at, replayed_at";

function toParked(row: Row): ParkedRow {
	return {
		id: row.id,
		kind: row.kind,
		sourceId: row.source_id,
		messageId: row.message_id,
		destinationId: row.destination_id,
		profileId: row.profile_id,
		userId: row.user_id,
		anonymousId: row.anonymous_id,
		reason: row.reason,
		error: row.error,
		payload: row.payload,
		parkedAt: row.parked_at,
		replayedAt: row.replayed_at,
	};
}

/**
 * One page of rows not yet replayed, oldest first, after row id `after`, optionally of one kind
 * and reason.
 *
 * @example
 * const page = await listParked(env.DB, { kind: "event", after: 0, limit: 100 });
 */
export async function listParked(
	db: D1Database,
	options: {
		kind?: ParkedKind | undefined;
		reason?: ParkedReason | undefined;
		after: number;
		limit: number;
	},
): Promise<ParkedRow[]> {
	const { results } = await db
		.prepare(
			`SELECT ${COLUMNS} FROM parked
WHERE replayed_at IS NULL AND (?1 IS NULL OR kind = ?1) AND (?4 IS NULL OR reason = ?4) AND id > ?2
ORDER BY id LIMIT ?3`,
		)
		.bind(
			options.kind ?? null,
			options.after,
			options.limit,
			options.reason ?? null,
		)
		.run<Row>();
	return results.map(toParked);
}

/**
 * Rows by id, replayed or not, in id order; ids that do not exist are left out.
 *
 * @example
 * (await parkedByIds(env.DB, [7, 8])).map((row) => row.id) // [7, 8]
 */
export async function parkedByIds(
	db: D1Database,
	ids: readonly number[],
): Promise<ParkedRow[]> {
	if (ids.length === 0) return [];
	const { results } = await db
		.prepare(
			`SELECT ${COLUMNS} FROM parked WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
		)
		.bind(JSON.stringify(ids))
		.run<Row>();
	return results.map(toParked);
}

/**
 * One row by id, replayed or not.
 *
 * @example
 * (await getParked(env.DB, 7))?.reason // "storage_refused"
 */
export async function getParked(
	db: D1Database,
	id: number,
): Promise<ParkedRow | undefined> {
	const row = await db
		.prepare(`SELECT ${COLUMNS} FROM parked WHERE id = ?1`)
		.bind(id)
		.first<Row>();
	return row ? toParked(row) : undefined;
}

/**
 * Marks rows as replayed (they stay for the record, and leave the default listing).
 *
 * @example
 * await markReplayed(env.DB, [7, 8], new Date());
 */
export async function markReplayed(
	db: D1Database,
	ids: readonly number[],
	now: Date,
): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare(
			"UPDATE parked SET replayed_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
		)
		.bind(now.toISOString(), JSON.stringify(ids))
		.run();
}

/**
 * Gives rows a new reason and error and keeps them waiting (a replay that was refused again).
 *
 * @example
 * await reparkRows(env.DB, [{ id: 7, reason: "replay_refused", error: "properties: too deep" }]);
 */
export async function reparkRows(
	db: D1Database,
	rows: readonly { id: number; reason: ParkedReason; error: string }[],
): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`UPDATE parked SET reason = r.value ->> 1, error = r.value ->> 2, replayed_at = NULL
FROM json_each(?1) AS r WHERE parked.id = r.value ->> 0`,
		)
		.bind(
			JSON.stringify(
				rows.map((row) => [
					row.id,
					row.reason,
					wellFormed(row.error).slice(0, MAX_ERROR_CHARS),
				]),
			),
		)
		.run();
}

/**
 * How many rows wait for an operator, per kind (for /health).
 *
 * @example
 * await countParked(env.DB) // { event: 2, delivery: 0 }
 */
export async function countParked(
	db: D1Database,
): Promise<Record<ParkedKind, number>> {
	const { results } = await db
		.prepare(
			"SELECT kind, COUNT(*) AS n FROM parked WHERE replayed_at IS NULL GROUP BY kind",
		)
		.run<{ kind: ParkedKind; n: number }>();
	const counts: Record<ParkedKind, number> = { event: 0, delivery: 0 };
	for (const row of results) counts[row.kind] = row.n;
	return counts;
}

/** Who erasure removes: a person's profile ids and the ids their events carried. */
export interface ParkedPerson {
	profileIds: readonly string[];
	userIds: readonly string[];
	anonymousIds: readonly string[];
}

/**
 * The statement that deletes a person's parked rows, replayed or not, for erasure's D1 batch.
 *
 * @example
 * await db.batch([..., purgeParkedStatement(db, person)]);
 */
export function purgeParkedStatement(
	db: D1Database,
	person: ParkedPerson,
): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM parked
WHERE profile_id IN (SELECT value FROM json_each(?1))
   OR user_id IN (SELECT value FROM json_each(?2))
   OR anonymous_id IN (SELECT value FROM json_each(?3))`,
		)
		.bind(
			JSON.stringify(person.profileIds),
			JSON.stringify(person.userIds),
			JSON.stringify(person.anonymousIds),
		);
}

function optional(value: string | undefined): string | null {
	return value === undefined ? null : wellFormed(value);
}

/** Lone surrogates become U+FFFD, so the text survives the trip to D1 (UTF-8). */
function wellFormed(text: string): string {
	return text.isWellFormed() ? text : text.toWellFormed();
}

/**
 * For a replay from the delivery log: the given events' waiting `delivery` rows at one
 * destination are marked replayed, so the parked listing and the console's backlog stop showing
 * what is being sent again. (The other way round, a parked replay puts the log's rows back.)
 *
 * @example
 * await parkedDeliveriesReplayedStatement(env.DB, "hooks", [["web", "m1"]], new Date()).run();
 */
export function parkedDeliveriesReplayedStatement(
	db: D1Database,
	destinationId: string,
	events: readonly (readonly [sourceId: string, messageId: string])[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE parked SET replayed_at = ?1
WHERE kind = 'delivery' AND replayed_at IS NULL AND destination_id = ?2
  AND (source_id, message_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?3))`,
		)
		.bind(now.toISOString(), destinationId, JSON.stringify(events));
}
