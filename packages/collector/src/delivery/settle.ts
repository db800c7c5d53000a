import type { DeliveryStatus } from "../db/deliveries";
import type { Verdict } from "../destinations/types";
import { nextDelaySeconds, type RetryPolicy } from "./backoff";

/** What one verdict means for one event at one destination: its new log state. */
export interface Settlement {
	status: Exclude<DeliveryStatus, "pending">;
	/** Send attempts so far, this one included. */
	attempts: number;
	lastStatus?: number;
	error?: string;
	/** The destination's response body, for the dead letter. */
	responseBody?: string;
	/** For `retrying`: seconds until the next attempt. */
	delaySeconds?: number;
	/** The destination asked to be switched off (webhook 410). */
	disable?: boolean;
}

/**
 * Turns a verdict into the event's next state — the one place where outcomes become actions:
 * ok → delivered; dropped → dropped; fatal (and a lone event still too large) → failed, dead
 * letter; retry-later → retrying after the backoff or Retry-After, or dead once the
 * destination's attempts are used up.
 *
 * @example
 * settle({ outcome: "retry-later", status: 503, error: "HTTP 503" }, 7, { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 })
 * // { status: "dead", attempts: 8, lastStatus: 503, error: "gave up after 8 attempts: HTTP 503" }
 */
export function settle(
	verdict: Verdict,
	attemptsBefore: number,
	policy: RetryPolicy,
	random: () => number = Math.random,
): Settlement {
	const attempts = attemptsBefore + 1;
	switch (verdict.outcome) {
		case "ok":
			return { status: "delivered", attempts, lastStatus: verdict.status };
		case "dropped":
			return {
				status: "dropped",
				attempts: attemptsBefore,
				error: verdict.error,
			};
		case "too-large":
			return {
				status: "failed",
				attempts,
				lastStatus: verdict.status,
				error: verdict.error,
			};
		case "fatal":
			return {
				status: "failed",
				attempts,
				lastStatus: verdict.status,
				error: verdict.error,
				responseBody: verdict.responseBody,
				disable: verdict.disable,
			};
		case "retry-later":
			if (attempts >= policy.maxAttempts)
				return {
					status: "dead",
					attempts,
					lastStatus: verdict.status,
					error: `gave up after ${attempts} attempts: ${verdict.error}`,
				};
			return {
				status: "retrying",
				attempts,
				lastStatus: verdict.status,
				error: verdict.error,
				delaySeconds: nextDelaySeconds(
					attempts,
					policy,
					verdict.retryAfterSeconds,
					random,
				),
			};
	}
}
