import { type BackoffPolicy, backoff } from "@conduit/protocol";

/**
 * How a queue batch that could not run at all (D1, the config or a queue unavailable) waits
 * before it runs again, in seconds: 5 s doubling per attempt, at most 5 minutes, with equal
 * jitter so the batches of every consumer that failed in one outage do not all come back in
 * the same second. Used by the four consumers alike; a destination's own retries follow its
 * `retry` config instead (delivery/backoff.ts).
 *
 * @example
 * backoff(3, INFRASTRUCTURE_RETRY, Math.random()) // 10 to 20
 */
export const INFRASTRUCTURE_RETRY: BackoffPolicy = { base: 5, cap: 300 };

/**
 * Seconds until a batch that failed as a whole runs again, after `attempts` deliveries of it
 * (Queues count from 1): {@link INFRASTRUCTURE_RETRY}, rounded up to whole seconds.
 *
 * @param random a number in [0, 1)
 * @example
 * batch.retryAll({ delaySeconds: retryDelaySeconds(attemptsOf(batch.messages)) });
 */
export function retryDelaySeconds(
	attempts: number,
	random: number = Math.random(),
): number {
	return Math.ceil(backoff(attempts, INFRASTRUCTURE_RETRY, random));
}

/**
 * The most deliveries any of the messages has had (at least 1): a batch retries as late as its
 * most-tried message asks.
 *
 * @example
 * attemptsOf(batch.messages) // 3
 */
export function attemptsOf(messages: readonly { attempts: number }[]): number {
	return Math.max(1, ...messages.map((m) => m.attempts));
}

/**
 * Retries every message of a batch that could not run at all, after
 * {@link retryDelaySeconds} for its most-tried message.
 *
 * @example
 * catch (error) { logFailure(error); retryBatchLater(batch); }
 */
export function retryBatchLater(
	batch: Pick<MessageBatch<unknown>, "messages" | "retryAll">,
): void {
	batch.retryAll({
		delaySeconds: retryDelaySeconds(attemptsOf(batch.messages)),
	});
}
