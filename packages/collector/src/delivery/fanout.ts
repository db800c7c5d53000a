import type { Destination } from "../config/destinations";
import type { LoadedConfig } from "../config/schema";
import { insertBatchesStatements, type NewBatch } from "../db/delivery-batches";
import { disabledDestinations } from "../db/destination-state";
import { DESTINATION_TYPES } from "../destinations/registry";
import type { DeliveryItem } from "../destinations/types";
import { ApiError } from "../errors";
import { routeVerdict } from "../routing/route";
import { keyed } from "./batch-key";
import { type DeliveryMessage, enqueueAll, eventMessages } from "./messages";

/** A DELIVERIES message carries at most this many events, whatever a destination's batchSize. */
export const MAX_EVENTS_PER_MESSAGE = 100;

export interface FanOutResult {
	/** Events routed per destination id. */
	routed: Record<string, number>;
	messages: number;
}

/**
 * Consumer stage after storage (and identity): routes each fresh event to every enabled
 * destination that takes it (routing/route.ts), enqueues one DELIVERIES message per destination
 * and chunk, each named by a batch key derived from its events (batch-key.ts), and logs one
 * `pending` row per message with the message as its body (db/delivery-batches.ts) — one row
 * per message, not per event.
 *
 * The messages go first: a batch row always stands for a message that was queued, and a
 * message the consumer sees before its row writes the row itself.
 *
 * Failure rule: must pass. If the queue or the log cannot be written, this throws; the EVENTS
 * consumer then runs it again on halves of the batch to find an event it fails on alone
 * (queues/isolate.ts), or retries the batch. Either way messages are sent again under the same
 * keys when the events come back grouped the same way, and the DELIVERIES consumer skips a batch
 * the log has as done; the destination's idempotency keys (from each messageId) cover a
 * regrouped retry. Isolation between destinations starts at the DELIVERIES queue, where each
 * message is one destination's.
 *
 * @example
 * await fanOut(env, [{ sourceId: "web", event }], await loadConfig(env), new Date());
 */
export async function fanOut(
	env: Pick<Env, "DB" | "DELIVERIES">,
	events: readonly DeliveryItem[],
	config: LoadedConfig,
	now: Date,
): Promise<FanOutResult> {
	const result: FanOutResult = { routed: {}, messages: 0 };
	const destinations = config.config.destinations.filter((d) => d.enabled);
	if (events.length === 0 || destinations.length === 0) return result;
	const disabled = await disabledDestinations(env.DB);
	const unkeyed: DeliveryMessage[] = [];
	for (const destination of destinations) {
		if (disabled.has(destination.id)) continue;
		const items: DeliveryItem[] = [];
		for (const { sourceId, event } of events) {
			const source = config.sourcesById.get(sourceId);
			if (routeVerdict(destination, sourceId, event, source)) continue;
			// The consumer orders by the event's time and the log keeps it: an event without a
			// readable one is refused here (RangeError), where isolation parks it alone.
			new Date(event.timestamp).toISOString();
			items.push({ sourceId, event });
		}
		if (items.length === 0) continue;
		result.routed[destination.id] = items.length;
		unkeyed.push(...destinationMessages(destination, items));
	}
	if (unkeyed.length === 0) return result;
	const messages = await keyed(unkeyed, "content");
	await queueAndLog(env, messages, now);
	result.messages = messages.length;
	return result;
}

/**
 * A destination's events as DELIVERIES messages, in chunks of its batch size (at most
 * {@link MAX_EVENTS_PER_MESSAGE}), still without their batch keys.
 *
 * @example
 * destinationMessages(hooks, items) // [{ kind: "events", destinationId: "hooks", items: [...] }]
 */
export function destinationMessages(
	destination: Destination,
	items: readonly DeliveryItem[],
): DeliveryMessage[] {
	const batchSize = Math.min(
		destination.batchSize ?? DESTINATION_TYPES[destination.type].maxBatchEvents,
		MAX_EVENTS_PER_MESSAGE,
	);
	return eventMessages(destination.id, items, batchSize);
}

/**
 * Queues keyed messages, then logs one `pending` row for each: messages first, so a log row
 * always stands for a message that was queued (a message the consumer sees before its row
 * writes the row itself).
 *
 * @example
 * await queueAndLog(env, await keyed(messages, "content"), new Date());
 */
export async function queueAndLog(
	env: Pick<Env, "DB" | "DELIVERIES">,
	messages: readonly DeliveryMessage[],
	now: Date,
): Promise<void> {
	await enqueueAll(env.DELIVERIES, messages);
	await env.DB.batch(
		insertBatchesStatements(
			env.DB,
			messages.map((m) => newBatch(m)),
			now,
		),
	);
}

/**
 * The log row of a message about to be (or just) queued.
 *
 * @example
 * newBatch({ kind: "events", destinationId: "hooks", batch: "b:…", items }) // { key: "b:…", kind: "events", events: 2, body: "…" }
 */
export function newBatch(
	message: DeliveryMessage,
	nextAttemptAt?: Date,
): NewBatch {
	const batch: NewBatch = {
		key: message.batch ?? "",
		destinationId: message.destinationId,
		kind: message.kind,
		events: message.kind === "events" ? message.items.length : 1,
		body: JSON.stringify(message),
		...(message.kind === "deletion" && { deletionId: message.deletion.id }),
		...(nextAttemptAt && { nextAttemptAt }),
	};
	return batch;
}

/**
 * The destination of an operator's request (a replay, a backfill), or a 404
 * `unknown_destination` when the config has none by that id.
 *
 * @example
 * configuredDestination(config, "hooks") // { id: "hooks", type: "webhook", enabled: true, … }
 */
export function configuredDestination(
	config: LoadedConfig,
	id: string,
): Destination {
	const destination = config.destinationsById.get(id);
	if (!destination)
		throw new ApiError(
			404,
			"unknown_destination",
			`No destination '${id}' in the config`,
		);
	return destination;
}
