import type { QueuedEvent } from "../event";

/** One queue message's event, as the consumer sees it. */
export interface IncomingEvent extends QueuedEvent {
	/** The queue message id: stable across redeliveries of that message. */
	queueMessageId: string;
	/** The event as JSON text, exactly as ingest serialised it (stored as is). */
	json: string;
}

/** A stored event the consumer still has to process. */
export interface StoredEvent extends IncomingEvent {
	rowId: number;
}

/*
 * The upsert is the deduplication point and it holds under concurrency because SQLite serialises
 * writes to the UNIQUE (source_id, message_id) key. A conflicting row comes back (and so gets
 * processed) only when it was written by this same queue message and never finished: a
 * redelivery after a crash. A copy of the event that arrived in another message gets no row.
 * The one exception is a row released to `parked` (its event was parked unfinished): the next
 * message that carries the event — a replay — takes the row over and finishes it.
 * One statement inserts a whole message's events from a JSON array (json_each), so a batch of
 * any size costs one round trip and SQLite, not the Worker, takes the events apart.
 */

/** The queue_message_id of a row whose event was parked unfinished: any message may finish it. */
const RELEASED = "parked";
const INSERT_EVENTS = `
INSERT INTO events (source_id, message_id, queue_message_id, type, event, user_id, anonymous_id, timestamp, received_at, payload)
SELECT ?1, json_extract(value, '$.messageId'), ?2, json_extract(value, '$.type'), json_extract(value, '$.event'),
  json_extract(value, '$.userId'), json_extract(value, '$.anonymousId'), json_extract(value, '$.timestamp'),
  json_extract(value, '$.receivedAt'), value
FROM json_each(?3) WHERE true
ON CONFLICT (source_id, message_id) DO UPDATE SET attempts = attempts + 1, queue_message_id = excluded.queue_message_id
  WHERE events.queue_message_id IN (excluded.queue_message_id, '${RELEASED}') AND events.processed_at IS NULL
RETURNING id, message_id`;

/** Bytes of events per statement: D1 takes strings of up to 2 MB. */
const MAX_STATEMENT_CHARS = 500_000;

/**
 * Stores events (one D1 round trip for the whole batch) and returns those that are new, or
 * redelivered and unfinished — in input order. Duplicates are left out. Events must be unique
 * by (sourceId, messageId) within one call.
 *
 * @example
 * const fresh = await storeEvents(env.DB, incoming);
 */
export async function storeEvents(
	db: D1Database,
	incoming: readonly IncomingEvent[],
): Promise<StoredEvent[]> {
	if (incoming.length === 0) return [];
	const statement = db.prepare(INSERT_EVENTS);
	const groups = groupForInsert(incoming);
	const results = await db.batch<{ id: number; message_id: string }>(
		groups.map((group) =>
			statement.bind(
				group.sourceId,
				group.queueMessageId,
				`[${group.events.map((e) => e.json).join(",")}]`,
			),
		),
	);
	const rowIds = new Map<string, number>();
	results.forEach((result, index) => {
		const sourceId = groups[index]?.sourceId;
		for (const row of result.results)
			rowIds.set(`${sourceId}\n${row.message_id}`, row.id);
	});
	const fresh: StoredEvent[] = [];
	for (const item of incoming) {
		const rowId = rowIds.get(`${item.sourceId}\n${item.event.messageId}`);
		if (rowId !== undefined) fresh.push({ ...item, rowId });
	}
	return fresh;
}

interface InsertGroup {
	sourceId: string;
	queueMessageId: string;
	events: IncomingEvent[];
}

/** Consecutive events of one queue message and source, cut to a statement's size. */
function groupForInsert(incoming: readonly IncomingEvent[]): InsertGroup[] {
	const groups: InsertGroup[] = [];
	let current: InsertGroup | undefined;
	let chars = 0;
	for (const item of incoming) {
		const fits = chars + item.json.length <= MAX_STATEMENT_CHARS;
		if (
			!current ||
			current.sourceId !== item.sourceId ||
			current.queueMessageId !== item.queueMessageId ||
			!fits
		) {
			current = {
				sourceId: item.sourceId,
				queueMessageId: item.queueMessageId,
				events: [],
			};
			groups.push(current);
			chars = 0;
		}
		current.events.push(item);
		chars += item.json.length;
	}
	return groups;
}

/**
 * Marks events as fully processed, so a later redelivery of their queue message is a no-op.
 *
 * @example
 * await markProcessed(env.DB, fresh.map((e) => e.rowId), new Date());
 */
export async function markProcessed(
	db: D1Database,
	rowIds: readonly number[],
	at: Date,
): Promise<void> {
	if (rowIds.length === 0) return;
	await markProcessedStatement(db, rowIds, at).run();
}

/**
 * The statement of {@link markProcessed}, for a caller's own D1 batch.
 *
 * @example
 * await env.DB.batch([markProcessedStatement(env.DB, rowIds, now), ...parkStatements(env.DB, rows, now)]);
 */
export function markProcessedStatement(
	db: D1Database,
	rowIds: readonly number[],
	at: Date,
): D1PreparedStatement {
	return db
		.prepare(
			"UPDATE events SET processed_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
		)
		.bind(at.toISOString(), JSON.stringify(rowIds));
}

/**
 * The statement that releases the unfinished rows of events being parked: the next queue message
 * carrying such an event (a replay) takes its row over and finishes it, where it would otherwise
 * be skipped as a copy. Finished rows are left alone.
 *
 * @example
 * await env.DB.batch([...parkStatements(env.DB, rows, now), releaseStatement(env.DB, [{ sourceId: "web", messageId: "m1" }])]);
 */
export function releaseStatement(
	db: D1Database,
	events: readonly { sourceId: string; messageId: string }[],
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE events SET queue_message_id = '${RELEASED}'
WHERE processed_at IS NULL
  AND (source_id, message_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`,
		)
		.bind(JSON.stringify(events.map((e) => [e.sourceId, e.messageId])));
}

/**
 * The statement that deletes the unfinished rows of events (dead letters of a person erased
 * since: erasure deletes rows by profile, and an unfinished row may have none yet).
 *
 * @example
 * await env.DB.batch([forgetUnfinishedStatement(env.DB, [{ sourceId: "web", messageId: "m1" }])]);
 */
export function forgetUnfinishedStatement(
	db: D1Database,
	events: readonly { sourceId: string; messageId: string }[],
): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM events WHERE processed_at IS NULL
  AND (source_id, message_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`,
		)
		.bind(JSON.stringify(events.map((e) => [e.sourceId, e.messageId])));
}

/** Rows deleted per statement, so one cleanup never holds the database for long. */
const DELETE_CHUNK = 5000;
/** Upper bound of statements per run; what is left is deleted by the next run. */
const MAX_CHUNKS = 20;

/**
 * Deletes events received before `before`, in bounded chunks.
 *
 * @example
 * await deleteEventsBefore(env.DB, new Date(Date.now() - 30 * 86_400_000)) // rows deleted
 */
export async function deleteEventsBefore(
	db: D1Database,
	before: Date,
): Promise<number> {
	const statement = db.prepare(
		"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)",
	);
	let total = 0;
	for (let i = 0; i < MAX_CHUNKS; i++) {
		const { meta } = await statement
			.bind(before.toISOString(), DELETE_CHUNK)
			.run();
		total += meta.changes;
		if (meta.changes < DELETE_CHUNK) break;
	}
	return total;
}
