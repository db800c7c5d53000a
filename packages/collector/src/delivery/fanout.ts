import type { LoadedConfig } from "../config/schema";
import { type RoutedRow, recordRouted } from "../db/deliveries";
import { disabledDestinations } from "../db/destination-state";
import { DESTINATION_TYPES } from "../destinations/registry";
import type { DeliveryItem } from "../destinations/types";
import type { QueuedEvent } from "../event";
import { profileKeyOf, routeVerdict } from "../routing/route";
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
 * destination that takes it (routing/route.ts), records a `pending` delivery-log row per
 * (destination, event), and enqueues one DELIVERIES message per destination and chunk.
 *
 * Failure rule: must pass. If the log or the queue cannot be written, this throws; the EVENTS
 * consumer then runs it again on halves of the batch to find an event it fails on alone
 * (queues/isolate.ts), or retries the batch. Either way rows already logged stay as they are
 * and messages are sent again — the DELIVERIES consumer skips events a destination already has. Isolation between
 * destinations starts at the DELIVERIES queue, where each message is one destination's.
 *
 * @example
 * await fanOut(env, fresh, await loadConfig(env), new Date());
 */
export async function fanOut(
	env: Pick<Env, "DB" | "DELIVERIES">,
	fresh: readonly QueuedEvent[],
	config: LoadedConfig,
	now: Date,
): Promise<FanOutResult> {
	const result: FanOutResult = { routed: {}, messages: 0 };
	const destinations = config.config.destinations.filter((d) => d.enabled);
	if (fresh.length === 0 || destinations.length === 0) return result;
	const disabled = await disabledDestinations(env.DB);
	const rows: RoutedRow[] = [];
	const messages: DeliveryMessage[] = [];
	for (const destination of destinations) {
		if (disabled.has(destination.id)) continue;
		const items: DeliveryItem[] = [];
		for (const { sourceId, event } of fresh) {
			const source = config.sourcesById.get(sourceId);
			if (routeVerdict(destination, sourceId, event, source)) continue;
			items.push({ sourceId, event });
			rows.push({
				destinationId: destination.id,
				sourceId,
				messageId: event.messageId,
				kind: "event",
				profileKey: profileKeyOf(event),
				eventTime: new Date(event.timestamp).toISOString(),
			});
		}
		if (items.length === 0) continue;
		result.routed[destination.id] = items.length;
		const batchSize = Math.min(
			destination.batchSize ??
				DESTINATION_TYPES[destination.type].maxBatchEvents,
			MAX_EVENTS_PER_MESSAGE,
		);
		messages.push(...eventMessages(destination.id, items, batchSize));
	}
	await recordRouted(env.DB, rows, now);
	await enqueueAll(env.DELIVERIES, messages);
	result.messages = messages.length;
	return result;
}
