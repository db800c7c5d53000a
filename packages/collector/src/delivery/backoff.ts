/** A destination's retry policy (config `retry`). */
export interface RetryPolicy {
	/** Send attempts per event before it is dead-lettered. */
	maxAttempts: number;
	/** Delay before the second attempt; it doubles with each further one. */
	baseDelaySeconds: number;
	/** Upper bound of any one delay (Cloudflare Queues allow at most 12 hours). */
	maxDelaySeconds: number;
}

/**
 * Seconds to wait after failed attempt number `attempt` (1-based): exponential, capped, with
 * "equal jitter" — half the delay fixed, half random — so retries of many events that failed
 * together spread out, yet none comes back sooner than half its step.
 *
 * @example
 * backoffSeconds(1, { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 }, () => 0) // 5
 * backoffSeconds(3, { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 }, () => 1) // 40
 */
export function backoffSeconds(
	attempt: number,
	policy: Pick<RetryPolicy, "baseDelaySeconds" | "maxDelaySeconds">,
	random: () => number = Math.random,
): number {
	const step = Math.min(
		policy.maxDelaySeconds,
		policy.baseDelaySeconds * 2 ** Math.max(0, attempt - 1),
	);
	return Math.ceil(step / 2 + (step / 2) * random());
}

/**
 * The delay before the next attempt: the server's Retry-After when it sent one (up to the
 * queue's 12-hour limit; the server knows best when it can take more), else the backoff.
 *
 * @example
 * nextDelaySeconds(2, policy, 120) // 120: the server asked for two minutes
 */
export function nextDelaySeconds(
	attempt: number,
	policy: Pick<RetryPolicy, "baseDelaySeconds" | "maxDelaySeconds">,
	retryAfterSeconds?: number,
	random: () => number = Math.random,
): number {
	const backoff = backoffSeconds(attempt, policy, random);
	if (retryAfterSeconds === undefined) return backoff;
	return Math.min(QUEUE_MAX_DELAY_SECONDS, Math.ceil(retryAfterSeconds));
}

/** Cloudflare Queues' largest delaySeconds. */
export const QUEUE_MAX_DELAY_SECONDS = 43_200;
