/*
 * The shapes that travel between a client and the collector's Segment-compatible API: what a
 * client posts to `/v1/batch` and what the collector answers. Types only, except the list of
 * call types, which validation needs at run time.
 */

/**
 * The six Segment Spec call types.
 *
 * @example
 * for (const type of EVENT_TYPES) app.post(`/v1/${type}`, handler(type));
 */
export const EVENT_TYPES = [
	"track",
	"identify",
	"page",
	"screen",
	"group",
	"alias",
] as const;

/**
 * One of {@link EVENT_TYPES}.
 *
 * @example
 * const type: EventType = "track";
 */
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A JSON object as received on the wire: nothing about its values is known yet.
 *
 * @example
 * const context: WireObject = { page: { path: "/" } };
 */
export type WireObject = { [key: string]: unknown };

/**
 * One event as the Segment Spec describes it: the fields the collector reads, typed; anything
 * else a client sends travels along untouched.
 *
 * @example
 * const event: WireEvent = { type: "track", event: "Order Completed", anonymousId: "a1" };
 */
export interface WireEvent extends WireObject {
	type: EventType;
	messageId?: string;
	userId?: string;
	anonymousId?: string;
	event?: string;
	name?: string;
	category?: string;
	groupId?: string;
	previousId?: string;
	/** When the call was made (ISO 8601). */
	timestamp?: string;
	originalTimestamp?: string;
	/** When the client sent the request (ISO 8601); the collector corrects clock skew with it. */
	sentAt?: string;
	receivedAt?: string;
	context?: WireObject;
	properties?: WireObject;
	traits?: WireObject;
	integrations?: WireObject;
}

/**
 * The body of `POST /v1/batch`. `context`, `integrations` and `sentAt` given here apply to every
 * event that lacks its own.
 *
 * @example
 * const body: BatchRequest = { batch: [event], writeKey: "wk_…", sentAt: new Date().toISOString() };
 */
export interface BatchRequest {
	batch: WireEvent[];
	/** The source's write key, when it is not in the Authorization header. */
	writeKey?: string;
	sentAt?: string;
	context?: WireObject;
	integrations?: WireObject;
}

/**
 * Why one event of a batch was not accepted.
 *
 * @example
 * const rejection: Rejection = { index: 3, messageId: "01J…", error: "type: must be one of …" };
 */
export interface Rejection {
	/** Position of the event in the request's `batch`. */
	index: number;
	messageId?: string;
	error: string;
}

/**
 * The collector's 200 answer to a batch: how many events it stored, and which it refused.
 *
 * @example
 * const answer: BatchResponse = { success: true, accepted: 19, rejected: [rejection] };
 */
export interface BatchResponse {
	success: true;
	accepted: number;
	rejected: Rejection[];
}
