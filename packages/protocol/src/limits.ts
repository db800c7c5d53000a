/*
 * Wire limits of the ingest API. They follow Segment's HTTP Tracking API, so clients that
 * already split their batches to these sizes work unchanged. The collector enforces them; the
 * SDK cuts its requests to fit them. One constant per limit (not one object), so a bundle holds
 * only the ones its code reads.
 */

/**
 * Largest request body, in bytes, counted after decompression (collector answers 413 above it).
 *
 * @example
 * if (bytes > MAX_REQUEST_BYTES) throw new ApiError(413, "payload_too_large", "…");
 */
export const MAX_REQUEST_BYTES = 500 * 1024;

/**
 * Largest single event, in bytes of serialised JSON (a larger one is rejected on its own).
 *
 * @example
 * if (json.length > MAX_EVENT_BYTES) rejected.push({ index, error: "too large" });
 */
export const MAX_EVENT_BYTES = 32 * 1024;

/**
 * Most events in one batch (collector answers 400 above it, refusing the whole batch).
 *
 * @example
 * split(events, sizeOf, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)
 */
export const MAX_BATCH_EVENTS = 2500;

/**
 * Deepest nesting of objects and arrays in an event, the event itself being level 1 and its
 * `properties` level 2 (a deeper event is rejected on its own).
 *
 * @example
 * if (depthOf(event) > MAX_EVENT_DEPTH) rejected.push({ index, error: "nested too deep" });
 */
export const MAX_EVENT_DEPTH = 32;

/**
 * Longest messageId, in characters (Segment's own limit).
 *
 * @example
 * v.pipe(v.string(), v.maxLength(MAX_MESSAGE_ID_LENGTH))
 */
export const MAX_MESSAGE_ID_LENGTH = 100;

/**
 * Longest userId, anonymousId, groupId or previousId, in characters.
 *
 * @example
 * v.pipe(v.string(), v.maxLength(MAX_ID_LENGTH))
 */
export const MAX_ID_LENGTH = 255;

/**
 * Longest track event name, page or screen name, or category, in characters.
 *
 * @example
 * v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH))
 */
export const MAX_NAME_LENGTH = 200;
