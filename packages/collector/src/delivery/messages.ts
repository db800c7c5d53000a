import { chunk, jsonBytes } from "../destinations/kit/chunk";
import type { DeliveryItem, ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../event";

/**
 * A message on the DELIVERIES queue: work for exactly one destination, so that retrying it
 * never re-sends anything to another destination. `batch` names its row in the delivery log
 * (delivery_batches; delivery/batch-key.ts); a message without one (queued before batch keys
 * existed, or by hand) is logged one event per row.
 */
export type DeliveryMessage =
	| {
			kind: "events";
			destinationId: string;
			items: DeliveryItem[];
			batch?: string;
	  }
	| {
			kind: "deletion";
			destinationId: string;
			deletion: ProfileDeletion;
			batch?: string;
	  };

/** Cloudflare Queues take messages up to 128 KB; keep clear of it for the envelope. */
const MAX_MESSAGE_BYTES = 120 * 1024;
/** Cloudflare Queues: one sendBatch call takes at most 100 messages and 256 KB. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 256 * 1024;

/**
 * Splits one destination's items into DELIVERIES messages of at most `batchSize` events and
 * 120 KB each.
 *
 * @example
 * eventMessages("hooks", items, 100) // [{ kind: "events", destinationId: "hooks", items: [...] }, …]
 */
export function eventMessages(
	destinationId: string,
	items: readonly DeliveryItem[],
	batchSize: number,
): DeliveryMessage[] {
	return chunk(items, {
		maxItems: batchSize,
		maxBytes: MAX_MESSAGE_BYTES,
		sizeOf: (item) => jsonBytes(item) + 1,
	}).map((part) => ({ kind: "events", destinationId, items: part }));
}

/**
 * Sends messages to a queue in as few `sendBatch` calls as its limits allow (100 messages and
 * 256 KB a call), all at once, optionally delayed.
 *
 * @example
 * await enqueueAll(env.DELIVERIES, messages);
 */
export async function enqueueAll<T>(
	queue: Queue<T>,
	messages: readonly T[],
	delaySeconds?: number,
): Promise<void> {
	const calls = chunk(messages, {
		maxItems: SEND_BATCH_MESSAGES,
		maxBytes: SEND_BATCH_BYTES - 1024,
		sizeOf: (message) => jsonBytes(message) + 64,
	});
	await Promise.all(
		calls.map((part) =>
			queue.sendBatch(
				part.map((body) => ({ body, contentType: "json" as const })),
				delaySeconds === undefined ? undefined : { delaySeconds },
			),
		),
	);
}

/**
 * The items a message carries. A deletion is carried as one pseudo-event (sourceId '',
 * messageId 'deletion:<id>'), so the log, deduplication and dead-lettering treat both alike.
 *
 * @example
 * itemsOf({ kind: "deletion", destinationId: "hooks", deletion }) // [{ sourceId: "", event: { messageId: "deletion:7", … } }]
 */
export function itemsOf(message: DeliveryMessage): DeliveryItem[] {
	if (message.kind === "events") return message.items;
	const { deletion } = message;
	const event: EnrichedEvent = {
		type: "identify",
		messageId: `deletion:${deletion.id}`,
		timestamp: deletion.requestedAt,
		receivedAt: deletion.requestedAt,
		context: { profileId: deletion.profileId },
	};
	return [{ sourceId: "", event }];
}
