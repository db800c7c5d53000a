/**
 * Wire limits of the ingest API. They follow the Segment HTTP Tracking API so that existing
 * clients, which already split their batches to these sizes, work unchanged.
 *
 * @example
 * if (bytes > LIMITS.maxRequestBytes) throw new ApiError(413, "payload_too_large", "…");
 */
export const LIMITS = {
	/** Largest request body, counted after decompression. */
	maxRequestBytes: 500 * 1024,
	/** Largest single event, as serialised JSON. */
	maxEventBytes: 32 * 1024,
	/** Most events in one batch. */
	maxBatchEvents: 2500,
	/** Longest messageId (Segment's own limit). */
	maxMessageIdLength: 100,
	/** Longest userId, anonymousId, groupId or previousId. */
	maxIdLength: 255,
	/** Longest track event name, page/screen name or category. */
	maxNameLength: 200,
	/** Events packed into one queue message at most (a message may hold 128 KB). */
	eventsPerQueueMessage: 100,
} as const;
