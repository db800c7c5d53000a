import type { QueuedEvent } from "../types";

/** One queue message's event, as the consumer sees it. */
export interface IncomingEvent extends QueuedEvent {
	/** The queue message id: stable across redeliveries of that message. */
	queueMessageId: string;
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
 */
const INSERT_EVENT = `
INSERT INTO events (source_id, message_id, queue_message_id, type, event, user_id, anonymous_id, timestamp, received_at, payload)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (source_id, message_id) DO UPDATE SET attempts = attempts + 1
  WHERE events.queue_message_id = excluded.queue_message_id AND events.processed_at IS NULL
RETURNING id`;

/**
 * Stores events (one D1 round trip for the whole batch) and returns those that are new, or
 * redelivered and unfinished — in input order. Duplicates are left out.
 *
 * @example
 * const fresh = await storeEvents(env.DB, incoming);
 */
export async function storeEvents(
	db: D1Database,
	incoming: readonly IncomingEvent[],
): Promise<StoredEvent[]> {
	if (incoming.length === 0) return [];
	const statement = db.prepare(INSERT_EVENT);
	const results = await db.batch<{ id: number }>(
		incoming.map(({ sourceId, queueMessageId, event }) =>
			statement.bind(
				sourceId,
				event.messageId,
				queueMessageId,
				event.type,
				event.event ?? null,
				event.userId ?? null,
				event.anonymousId ?? null,
				event.timestamp,
				event.receivedAt,
				JSON.stringify(event),
			),
		),
	);
	const fresh: StoredEvent[] = [];
	results.forEach((result, index) => {
		const row = result.results[0];
		const item = incoming[index];
		if (row && item) fresh.push({ ...item, rowId: row.id });
	});
	return fresh;
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
	await db
		.prepare(
			"UPDATE events SET processed_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
		)
		.bind(at.toISOString(), JSON.stringify(rowIds))
		.run();
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
