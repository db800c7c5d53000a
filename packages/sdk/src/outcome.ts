/**
 * What became of one request: `ok` (acknowledged: delete the events), `retry-later` (keep them
 * and try again after a backoff), `too-large` (split the batch, or drop a single event) or
 * `fatal` (the collector will never take this batch: drop it and report).
 */
export type Outcome = "ok" | "retry-later" | "too-large" | "fatal";

/**
 * Statuses after which the same request can succeed later. Everything else under 500 that is
 * not 2xx or 413 is the client's fault and would fail again.
 */
const RETRYABLE: Record<number, true> = {
	/** No response at all: offline, DNS, connection reset, or blocked by CORS. */
	0: true,
	/** Request Timeout: the server gave up waiting for the body. */
	408: true,
	/** Too Early (RFC 8470): replay risk on 0-RTT; safe to resend later. */
	425: true,
	/** Too Many Requests: rate limited; Retry-After says when. */
	429: true,
};

/**
 * Classifies an HTTP status (0 for a network error) and the error body's `code` into an
 * {@link Outcome}. Every 5xx is retryable: the collector answers 503 with Retry-After when it
 * cannot store events. An oversize body is `413`, or `400 payload_too_large` as Segment-style
 * servers (this collector included) answer it.
 *
 * @example
 * outcome(200) // "ok"
 * outcome(503) // "retry-later"
 * outcome(413) // "too-large"
 * outcome(400, "payload_too_large") // "too-large"
 * outcome(401) // "fatal"
 */
export function outcome(status: number, code?: string): Outcome {
	if (status > 199 && status < 300) return "ok";
	if (status === 413 || code === "payload_too_large") return "too-large";
	return RETRYABLE[status] || status > 499 ? "retry-later" : "fatal";
}
