import type { WireEvent, WireObject } from "@conduit/protocol";

/*
 * The collector's event types, from the wire shape (@conduit/protocol) to what the queues
 * carry. A leaf: it imports no other collector module, so every layer may use it.
 */

/**
 * An event after enrichment: every field the pipeline guarantees is present.
 *
 * @example
 * const event: EnrichedEvent = { type: "track", event: "Signed Up", messageId: "m1", timestamp, receivedAt, context: {} };
 */
export interface EnrichedEvent extends WireEvent {
	messageId: string;
	timestamp: string;
	receivedAt: string;
	context: WireObject;
}

/**
 * One accepted event and the source it came from, as the consumer handles it.
 *
 * @example
 * const queued: QueuedEvent = { sourceId: "web", event };
 */
export interface QueuedEvent {
	sourceId: string;
	event: EnrichedEvent;
}
