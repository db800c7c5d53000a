import { loadConfig } from "./config/load";
import { type IncomingEvent, markProcessed, storeEvents } from "./db/events";
import { fanOut } from "./delivery/fanout";
import type { QueuedEvent } from "./types";

/** Redelivery delay after a failed batch: 5 s doubling per attempt, at most 5 min. */
export function retryDelaySeconds(attempts: number): number {
	return Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The EVENTS queue consumer. Stage rules: storing is must-pass for the whole batch (if D1 fails,
 * every message is retried with backoff and, after max_retries, goes to the dead-letter queue);
 * a message whose body is not an event can never succeed, so it is logged and acknowledged.
 * Fan-out (delivery/fanout.ts) is must-pass too: it only writes the delivery log and the
 * DELIVERIES queue; the sending, where destinations are isolated from each other, happens there.
 *
 * @example
 * export default { queue: consumeEvents } satisfies ExportedHandler<Env, QueuedEvent>;
 */
export async function consumeEvents(
	batch: MessageBatch<QueuedEvent>,
	env: Env,
): Promise<void> {
	const incoming: IncomingEvent[] = [];
	for (const message of batch.messages) {
		if (isQueuedEvent(message.body))
			incoming.push({ ...message.body, queueMessageId: message.id });
		else {
			console.error(
				JSON.stringify({
					msg: "dropping malformed queue message",
					id: message.id,
				}),
			);
			message.ack();
		}
	}
	const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
	try {
		const fresh = await storeEvents(env.DB, incoming);
		// Stages after storage run here, in order, on `fresh` only (duplicates never reach them).
		const fanned = await fanOut(env, fresh, await loadConfig(env), new Date());
		await markProcessed(
			env.DB,
			fresh.map((e) => e.rowId),
			new Date(),
		);
		console.log(
			JSON.stringify({
				msg: "events stored",
				received: incoming.length,
				stored: fresh.length,
				duplicates: incoming.length - fresh.length,
				routed: fanned.routed,
			}),
		);
		batch.ackAll();
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "event batch failed; retrying",
				events: incoming.length,
				attempts,
				error: String(error),
			}),
		);
		batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
	}
}

function isQueuedEvent(body: unknown): body is QueuedEvent {
	if (typeof body !== "object" || body === null) return false;
	const { sourceId, event } = body as Partial<QueuedEvent>;
	return (
		typeof sourceId === "string" &&
		typeof event === "object" &&
		event !== null &&
		typeof event.messageId === "string"
	);
}
