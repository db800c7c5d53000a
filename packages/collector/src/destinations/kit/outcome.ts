/**
 * What one send attempt means for an event, decided once, here, and acted on by the consumer:
 * - `ok`: the destination has it.
 * - `retry-later`: a transient failure (network error, 5xx, 408, 429): retried with backoff
 *   until the destination's `retry.maxAttempts`, then dead-lettered.
 * - `too-large`: the request was too big: the batch is split and sent again at once; a single
 *   event that is still too big is `fatal`.
 * - `fatal`: the destination refused it and would refuse it again: dead-lettered with the
 *   response, never retried.
 */
export type Outcome = "ok" | "retry-later" | "too-large" | "fatal";

/**
 * The one table of HTTP statuses that are not plain success-or-refusal. Every 2xx is `ok`,
 * every other 5xx is `retry-later`, every other 4xx is `fatal`.
 */
const STATUS_OUTCOMES: Readonly<Record<number, Outcome>> = {
	408: "retry-later", // Request Timeout: the server gave up waiting for our request; it never ran.
	409: "retry-later", // Conflict: used by some APIs (Segment's) for "a concurrent request holds this key".
	413: "too-large", // Content Too Large: send less in one request.
	425: "retry-later", // Too Early (RFC 8470): replay after the handshake completes.
	429: "retry-later", // Too Many Requests: retried after Retry-After.
	501: "fatal", // Not Implemented: the endpoint will not start supporting this on a retry.
	505: "fatal", // HTTP Version Not Supported: likewise.
};

/**
 * The outcome of an HTTP response status.
 *
 * @example
 * outcomeOfStatus(202) // "ok"
 * outcomeOfStatus(503) // "retry-later"
 * outcomeOfStatus(400) // "fatal"
 */
export function outcomeOfStatus(status: number): Outcome {
	const listed = STATUS_OUTCOMES[status];
	if (listed) return listed;
	if (status >= 200 && status < 300) return "ok";
	if (status >= 500) return "retry-later";
	return "fatal";
}
