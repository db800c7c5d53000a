import { MAX_BATCH_EVENTS as WIRE_MAX_BATCH_EVENTS } from "@conduit/protocol";

/**
 * Most events one request of each destination type may carry: the vendors' documented limits
 * (webhook's and r2's are our own). A destination's `batchSize` may not exceed its type's.
 *
 * @example
 * MAX_BATCH_EVENTS.ga4 // 25
 */
export const MAX_BATCH_EVENTS = {
	webhook: 1000,
	segment: WIRE_MAX_BATCH_EVENTS, // Segment's batch is bounded by 500 KB rather than a count; 2,500 is the ingest API's.
	ga4: 25, // Measurement Protocol: 25 events a request.
	mixpanel: 2000, // /import: 2,000 events a request.
	amplitude: 2000, // HTTP V2: 2,000 events a request.
	posthog: 1000,
	r2: 10_000, // One object per queue batch.
} as const;
