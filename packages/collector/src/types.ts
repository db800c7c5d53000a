import type { LoadedConfig, Source } from "./config/schema";

/** The six Segment Spec call types. */
export const EVENT_TYPES = [
	"track",
	"identify",
	"page",
	"screen",
	"group",
	"alias",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A JSON object as received on the wire. */
export type JsonObject = { [key: string]: unknown };

/**
 * An event after validation: the Segment Spec fields the collector relies on, typed; anything
 * else the client sent is kept as is.
 */
export interface SegmentEvent extends JsonObject {
	type: EventType;
	messageId?: string;
	userId?: string;
	anonymousId?: string;
	event?: string;
	name?: string;
	category?: string;
	groupId?: string;
	previousId?: string;
	timestamp?: string;
	originalTimestamp?: string;
	sentAt?: string;
	receivedAt?: string;
	context?: JsonObject;
	properties?: JsonObject;
	traits?: JsonObject;
	integrations?: JsonObject;
}

/** An event after enrichment: every field the pipeline guarantees is present. */
export interface EnrichedEvent extends SegmentEvent {
	messageId: string;
	timestamp: string;
	receivedAt: string;
	context: JsonObject;
}

/** One accepted event and the source it came from, as the consumer handles it. */
export interface QueuedEvent {
	sourceId: string;
	event: EnrichedEvent;
}

/**
 * What the ingest path puts on the EVENTS queue: the accepted events of one request, several
 * per message (Queues bills and delivers per message, up to 128 KB each), sent as JSON text.
 */
export interface QueuedBatch {
	sourceId: string;
	events: EnrichedEvent[];
}

/** Hono environment of the collector app: bindings and typed context variables. */
export interface AppEnv {
	Bindings: Env;
	Variables: {
		config: LoadedConfig;
		source: Source;
		body: JsonObject;
		requestId: string;
	};
}
