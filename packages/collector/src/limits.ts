import { MAX_EVENT_DEPTH } from "@conduit/protocol";

/**
 * The collector's own limits: they keep every accepted event within what D1, Queues and the
 * destinations can hold, so that an event the collector answered 200 for can always be stored.
 * The wire limits a client splits its batches by (request, event and batch size, id and name
 * lengths) are shared with the SDK and live in @conduit/protocol.
 *
 * @example
 * if (json.length > LIMITS.maxEnrichedEventBytes) return { ok: false, error: "too large" };
 */
export const LIMITS = {
	/**
	 * Largest event after enrichment, as serialised JSON (UTF-8 bytes). One event then always
	 * fits in an EVENTS message, in a DELIVERIES message, and in a dead letter that also carries
	 * a 4 KB vendor response.
	 */
	maxEnrichedEventBytes: 64 * 1024,
	/**
	 * Longest string that enrichment adds from the request (the User-Agent header, campaign
	 * values read from the page URL, the referrer host, location names); longer ones are cut
	 * and listed in `context.enrichment.truncated`.
	 */
	maxEnrichedStringLength: 1024,
	/**
	 * Deepest nesting of objects and arrays in an event (the wire's MAX_EVENT_DEPTH). Real events
	 * rarely pass 6; SQLite's JSON functions, which store the events, refuse anything past 1,000
	 * levels, and the destinations wrap events a few more.
	 */
	maxDepth: MAX_EVENT_DEPTH,
	/** Events packed into one queue message at most. */
	eventsPerQueueMessage: 100,
	/** Largest queue message Cloudflare Queues takes (128 KB, counted as 128,000 bytes). */
	maxQueueMessageBytes: 128_000,
	/** Longest delay Cloudflare Queues take on a message (12 hours), in seconds. */
	maxQueueDelaySeconds: 43_200,
	/**
	 * Earliest and latest instant a client timestamp (`timestamp`, `originalTimestamp`, `sentAt`)
	 * may name, in epoch milliseconds: 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
	 * Within it every instant has a four-digit-year ISO form, which sorts as text in time order,
	 * and a ULID time part.
	 */
	minTimestampMs: 0,
	maxTimestampMs: 253_402_300_799_999,
} as const;
