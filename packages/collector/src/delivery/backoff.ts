import { backoff } from "@conduit/protocol";
import { LIMITS } from "../limits";

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
 * Seconds to wait after failed attempt number `attempt` (1-based), and never sooner than the
 * destination's Retry-After: the shared rule (@conduit/protocol `backoff`: exponential, capped,
 * equal jitter) in the policy's seconds, rounded up to whole seconds for Queues. A Retry-After
 * may exceed the policy's cap (the server knows best when it can take more) up to the queue's
 * 12-hour limit; a shorter one never cuts the backoff (RFC 9110 §10.2.3 names the least wait).
 *
 * @example
 * nextDelaySeconds(1, { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 }) // 5 to 10
 * nextDelaySeconds(2, policy, 120) // 120: the server asked for two minutes
 */
export function nextDelaySeconds(
	attempt: number,
	policy: Pick<RetryPolicy, "baseDelaySeconds" | "maxDelaySeconds">,
	retryAfterSeconds = 0,
	random: () => number = Math.random,
): number {
	return Math.ceil(
		backoff(
			attempt,
			{
				base: policy.baseDelaySeconds,
				cap: policy.maxDelaySeconds,
				maxWait: LIMITS.maxQueueDelaySeconds,
			},
			random(),
			retryAfterSeconds,
		),
	);
}
