import { loadConfig } from "./config/load";
import { type IncomingEvent, markProcessed, storeEvents } from "./db/events";
import { fanOut } from "./delivery/fanout";
import { identityDeps } from "./identity/deps";
import { resolveIdentities } from "./identity/resolve";
import type { EnrichedEvent, QueuedBatch } from "./types";

/** Redelivery delay after a failed batch: 5 s doubling per attempt, at most 5 min. */
export function retryDelaySeconds(attempts: number): number {
	return Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The EVENTS queue consumer. Stage rules: storing is must-pass for the whole batch (if D1 fails,
 * every message is retried with backoff and, after max_retries, goes to the dead-letter queue);
 * a message that does not hold events can never succeed, so it is logged and acknowledged.
 * Identity resolution is must-pass too (a failure retries the batch; it is idempotent); it
 * sets `context.profileId` and leaves out events of deleted (suppressed) profiles.
 * Fan-out (delivery/fanout.ts) is must-pass too: it only writes the delivery log and the
 * DELIVERIES queue; the sending, where destinations are isolated from each other, happens there.
 *
 * @example
 * export default { queue: consumeEvents } satisfies ExportedHandler<Env, string>;
 */
export async function consumeEvents(
	batch: MessageBatch<unknown>,
	env: Env,
	ctx?: ExecutionContext,
): Promise<void> {
	const incoming: IncomingEvent[] = [];
	const seen = new Set<string>();
	for (const message of batch.messages) {
		const decoded = decode(message.body);
		if (!decoded) {
			console.error(
				JSON.stringify({
					msg: "dropping malformed queue message",
					id: message.id,
				}),
			);
			message.ack();
			continue;
		}
		for (const { event, json } of decoded.events) {
			// A client may repeat an event inside one batch; only its first copy goes on.
			const key = `${decoded.sourceId}\n${event.messageId}`;
			if (seen.has(key)) continue;
			seen.add(key);
			incoming.push({
				sourceId: decoded.sourceId,
				event,
				json,
				queueMessageId: message.id,
			});
		}
	}
	const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
	try {
		const fresh = await storeEvents(env.DB, incoming);
		const config = await loadConfig(env);
		const identity = identityDeps(env, config, ctx);
		const resolved = await resolveIdentities(fresh, identity);
		// Fan-out sees `resolved.events` only: duplicates and suppressed events never reach it.
		const fanned = await fanOut(env, resolved.events, config, new Date());
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
				identity: { ...resolved.stats, d1Calls: identity.d1.calls },
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

/** A queue message taken apart: its source and each event with its JSON text. */
interface DecodedMessage {
	sourceId: string;
	events: { event: EnrichedEvent; json: string }[];
}

/**
 * Reads a message body: the NDJSON text ingest sends (a `{"sourceId"}` line, then one event per
 * line), or an object `{ sourceId, events }` (a replay may send JSON).
 */
function decode(body: unknown): DecodedMessage | undefined {
	try {
		if (typeof body === "string") {
			const [header = "", ...lines] = body.split("\n");
			const { sourceId } = JSON.parse(header) as { sourceId?: unknown };
			const events = lines.map((json) => ({
				event: JSON.parse(json) as EnrichedEvent,
				json,
			}));
			return typeof sourceId === "string" && events.every(hasMessageId)
				? { sourceId, events }
				: undefined;
		}
		const { sourceId, events } = (body ?? {}) as Partial<QueuedBatch>;
		if (typeof sourceId !== "string" || !Array.isArray(events))
			return undefined;
		const decoded = events.map((event) => ({
			event,
			json: JSON.stringify(event),
		}));
		return decoded.every(hasMessageId)
			? { sourceId, events: decoded }
			: undefined;
	} catch {
		// Not JSON: the caller reports the message as malformed.
		return undefined;
	}
}

function hasMessageId({ event }: { event: unknown }): boolean {
	return (
		typeof event === "object" &&
		event !== null &&
		typeof (event as EnrichedEvent).messageId === "string"
	);
}
