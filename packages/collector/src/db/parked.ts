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
	/** The EVENTS queue gave up on its message after max_retries. */
	| "dead_lettered"
	/** A spooled message the queue would not take, kept instead of blocking the spool. */
	| "spool_unsendable"
	/** A destination gave up on the event (the DELIVERIES dead-letter queue). */
	| "delivery_dead";

export type ParkedKind = "event" | "delivery";

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

/** A parked row as the admin API shows it. */
export interface ParkedRow {
	id: number;
	kind: ParkedKind;
	sourceId: string;
	messageId: string | null;
	destinationId: string | null;
	profileId: string | null;
	reason: ParkedReason;
	error: string;
	payload: string;
	parkedAt: string;
	replayedAt: string | null;
}

/** Longest error text kept per row. */
const MAX_ERROR_CHARS = 2000;

const INSERT = `INSERT INTO parked (kind, source_id, message_id, destination_id, profile_id, user_id, anonymous_id, reason, error, payload, parked_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`;

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
	const statement = db.prepare(INSERT);
	const at = now.toISOString();
	await db.batch(
		rows.map((row) =>
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
	reason: ParkedReason;
	error: string;
	payload: string;
	parked_at: string;
	replayed_at: string | null;
}

const COLUMNS =
	"id, kind, source_id, message_id, destination_id, profile_id, reason, error, payload, parked_at, replayed_at";

function toParked(row: Row): ParkedRow {
	return {
		id: row.id,
		kind: row.kind,
		sourceId: row.source_id,
		messageId: row.message_id,
		destinationId: row.destination_id,
		profileId: row.profile_id,
		reason: row.reason,
		error: row.error,
		payload: row.payload,
		parkedAt: row.parked_at,
		replayedAt: row.replayed_at,
	};
}

/**
 * One page of rows not yet replayed, oldest first, after row id `after`.
 *
 * @example
 * const page = await listParked(env.DB, { kind: "event", after: 0, limit: 100 });
 */
export async function listParked(
	db: D1Database,
	options: { kind?: ParkedKind; after: number; limit: number },
): Promise<ParkedRow[]> {
	const { results } = await db
		.prepare(
			`SELECT ${COLUMNS} FROM parked
WHERE replayed_at IS NULL AND (?1 IS NULL OR kind = ?1) AND id > ?2
ORDER BY id LIMIT ?3`,
		)
		.bind(options.kind ?? null, options.after, options.limit)
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

/** How many rows wait for an operator, per kind (for /health). */
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
