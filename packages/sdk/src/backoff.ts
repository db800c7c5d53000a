/** First retry waits about this long; each later one doubles it. */
const BASE_MS = 1000;
/** No wait is longer than this, so a long outage ends with a retry within minutes. */
const CAP_MS = 300_000;

/**
 * How long to wait before retry number `attempt` (0 for the first): exponential backoff with
 * "equal jitter" (half fixed, half random, so tabs that failed together do not retry together),
 * and never sooner than the server's Retry-After.
 *
 * @param random a number in [0, 1), e.g. `Math.random()`
 * @param retryAfterMs what the server asked for, in ms (0 when it did not say)
 * @example
 * backoff(0, 0.5, 0) // 750
 * backoff(3, 0, 20_000) // 20000: Retry-After wins over the 4,000 ms backoff
 */
export function backoff(
	attempt: number,
	random: number,
	retryAfterMs: number,
): number {
	const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** attempt);
	return Math.max(retryAfterMs, (ceiling * (1 + random)) / 2);
}

/**
 * Reads a Retry-After header (RFC 9110 §10.2.3: delay in seconds, or an HTTP date) as ms.
 *
 * @example
 * retryAfter("2", 0) // 2000
 * retryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000) // 4000
 * retryAfter(null, 0) // 0
 */
export function retryAfter(header: string | null, now: number): number {
	if (!header) return 0;
	// An HTTP-date always ends in "GMT" (RFC 9110 §5.6.7); V8 would "parse" "-3" as a year.
	const ms = /^\d+$/.test(header)
		? +header * 1000
		: /GMT$/.test(header)
			? Date.parse(header) - now
			: 0;
	// NaN (an unparsable date) and past dates both mean "no wait".
	return Math.max(ms, 0) || 0;
}
