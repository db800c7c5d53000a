/**
 * How a retrying party spaces its attempts. Units are the caller's (the SDK counts in
 * milliseconds, queue consumers in seconds); every field is in the same unit.
 *
 * @example
 * const browser: BackoffPolicy = { base: 1000, cap: 300_000, maxWait: 86_400_000 };
 * const queue: BackoffPolicy = { base: 5, cap: 300, jitter: 0 };
 */
export interface BackoffPolicy {
	/** The step of the first retry; each later one doubles it. */
	base: number;
	/** The largest step, however many attempts failed. */
	cap: number;
	/**
	 * The share of each step that is random: 0.5 ("equal jitter", the default) waits between
	 * half the step and the whole step, so clients that failed together do not come back
	 * together, yet none comes back sooner than half its step; 0 waits exactly the step.
	 */
	jitter?: number;
	/**
	 * The longest a server's Retry-After may hold a retry back (default: no limit). Timers and
	 * queues have one: setTimeout overflows past 2^31 − 1 ms, Cloudflare Queues delay at most
	 * 12 hours.
	 */
	maxWait?: number;
}

/**
 * How long to wait before the next attempt, after `attempt` failed ones (1 after the first
 * failure): exponential, capped, jittered, and never sooner than the server's Retry-After (up
 * to `maxWait`). Pure: the caller draws `random` and rounds (Queues take whole seconds).
 *
 * @param random a number in [0, 1), e.g. `Math.random()`
 * @param retryAfter what the server asked for (see `retryAfterMs`), in the policy's unit
 * @example
 * backoff(1, { base: 1000, cap: 300_000 }, 0.5) // 750
 * backoff(4, { base: 1000, cap: 300_000 }, 0, 20_000) // 20000: Retry-After outweighs 4,000 ms
 * backoff(3, { base: 5, cap: 300, jitter: 0 }, Math.random()) // 20
 */
export function backoff(
	attempt: number,
	policy: BackoffPolicy,
	random: number,
	retryAfter = 0,
): number {
	const { base, cap, jitter = 0.5, maxWait = retryAfter } = policy;
	const step = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
	return Math.max(
		step * (1 - jitter + jitter * random),
		Math.min(retryAfter, maxWait),
	);
}
