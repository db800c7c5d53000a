import { type ParkInput, parkStatements } from "../db/parked";
import { deleteSpooled, spooledMessages, unspoolStatement } from "../db/spool";
import { decodeMessage } from "./message";

/*
 * The fallback log behind ingest's 200. When the EVENTS queue refuses messages, ingest writes
 * them here (one D1 batch) and still answers 200: the events are durably kept. The scheduled
 * drain sends them on. A crash between sending and deleting sends a message twice, which the
 * consumer's deduplication absorbs.
 *
 * A row the queue will not take never blocks the rows behind it: it is parked, one parked row
 * per event (`spool_unsendable`), and deleted from the spool in the same transaction. An
 * outage of the queue parks nothing: the drain stops and the rows wait for the next run.
 */

/** Messages moved per drain run; the rest wait for the next run. */
const DRAIN_LIMIT = 500;
/**
 * Queues takes messages of up to 128 KB (1 KB = 1,000 bytes), of which about 100 bytes are its
 * own metadata (developers.cloudflare.com/queues/platform/limits/): a larger body is refused
 * whatever the queue's state, so it is parked without trying.
 */
const MAX_BODY_BYTES = 128_000 - 100;
/** Refusals in a row, none of them explained, after which the queue is taken to be down. */
const OUTAGE_STREAK = 3;

/** What a refusal of `send` says, as data: about this message, about the queue, or unknown. */
type Refusal = "message" | "queue" | "unknown";
const REFUSALS: readonly [RegExp, Refusal][] = [
	// Miniflare and Queues name the size when a message is over the limit.
	[/exceeds .*limit|too large/i, "message"],
	// Documented producer errors that concern the queue, not the message.
	[/too many requests|\b429\b|storage limit exceeded/i, "queue"],
];

/**
 * Sends spooled messages to the queue, oldest first, and deletes those the queue took. Returns
 * how many were moved. A row the queue refuses is parked when the refusal is about the row (its
 * size) or when a later row goes through (so the queue works and this row is what it will not
 * take); the drain stops, parking nothing more, when the queue reports itself unavailable or
 * refuses {@link OUTAGE_STREAK} rows in a row without a reason.
 *
 * @example
 * const moved = await drainSpool(env.DB, env.EVENTS);
 */
export async function drainSpool(
	db: D1Database,
	queue: Queue<string>,
	now: Date = new Date(),
): Promise<number> {
	const results = await spooledMessages(db, DRAIN_LIMIT);
	const encoder = new TextEncoder();
	const unsendable: { id: number; body: string; error: string }[] = [];
	let suspects: typeof unsendable = [];
	let moved = 0;
	for (const row of results) {
		const bytes = encoder.encode(row.body).byteLength;
		if (bytes > MAX_BODY_BYTES) {
			unsendable.push({
				...row,
				error: `the message is ${bytes} bytes; a queue message holds at most ${MAX_BODY_BYTES}`,
			});
			continue;
		}
		try {
			await queue.send(row.body, { contentType: "text" });
		} catch (error) {
			const text = error instanceof Error ? error.message : String(error);
			const refusal =
				REFUSALS.find(([pattern]) => pattern.test(text))?.[1] ?? "unknown";
			if (refusal === "message") {
				unsendable.push({ ...row, error: text });
				continue;
			}
			suspects.push({ ...row, error: text });
			if (refusal === "queue" || suspects.length >= OUTAGE_STREAK) {
				console.warn(
					JSON.stringify({
						msg: "spool drain paused: the queue is unavailable",
						error: text,
					}),
				);
				break;
			}
			continue;
		}
		// The queue works: the rows it refused before this one are what it will not take.
		unsendable.push(...suspects);
		suspects = [];
		await deleteSpooled(db, row.id);
		moved += 1;
	}
	await parkUnsendable(db, unsendable, now);
	return moved;
}

/** Parks each event of the rows and deletes the rows, in one transaction. */
async function parkUnsendable(
	db: D1Database,
	rows: readonly { id: number; body: string; error: string }[],
	now: Date,
): Promise<void> {
	if (rows.length === 0) return;
	const parked: ParkInput[] = rows.flatMap(({ body, error }) => {
		const decoded = decodeMessage(body);
		if (!decoded.ok)
			return [
				{
					kind: "event",
					sourceId: decoded.sourceId,
					reason: "spool_unsendable",
					error: `${error}; ${decoded.error}`,
					payload: decoded.text,
				} satisfies ParkInput,
			];
		const { sourceId, events, refused } = decoded.message;
		return [
			...events.map(({ event, json }) => ({ event, json })),
			...refused.map((line) => ({ event: line, json: line.json })),
		].map(
			({ event, json }): ParkInput => ({
				kind: "event",
				sourceId,
				messageId: event.messageId,
				userId: typeof event.userId === "string" ? event.userId : undefined,
				anonymousId:
					typeof event.anonymousId === "string" ? event.anonymousId : undefined,
				reason: "spool_unsendable",
				error,
				payload: json,
			}),
		);
	});
	await db.batch([
		...parkStatements(db, parked, now),
		unspoolStatement(
			db,
			rows.map((r) => r.id),
		),
	]);
	console.warn(
		JSON.stringify({
			msg: "spooled messages the queue will not take were parked",
			messages: rows.length,
			events: parked.length,
		}),
	);
}
