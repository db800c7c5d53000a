import { describe, expect, it } from "vitest";
import { LIMITS } from "../limits";
import { nextDelaySeconds } from "./backoff";

/** The backoff alone: no Retry-After. */
const backoffSeconds = (
	attempt: number,
	policy: { baseDelaySeconds: number; maxDelaySeconds: number },
	random: () => number,
) => nextDelaySeconds(attempt, policy, undefined, random);

const policy = { baseDelaySeconds: 10, maxDelaySeconds: 3600 };

describe("backoffSeconds", () => {
	it("doubles per attempt, with half of each step random", () => {
		expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, () => 0))).toEqual(
			[5, 10, 20, 40],
		);
		expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, () => 1))).toEqual(
			[10, 20, 40, 80],
		);
	});

	it("never exceeds the cap, however many attempts", () => {
		expect(backoffSeconds(30, policy, () => 1)).toBe(3600);
		expect(backoffSeconds(30, policy, () => 0)).toBe(1800);
	});

	it("spreads retries: different random draws give different delays within the step", () => {
		const delays = [0, 0.25, 0.5, 0.75, 0.99].map((r) =>
			backoffSeconds(3, policy, () => r),
		);
		expect(new Set(delays).size).toBe(5);
		for (const d of delays) expect(d).toBeGreaterThanOrEqual(20);
		for (const d of delays) expect(d).toBeLessThanOrEqual(40);
	});
});

describe("nextDelaySeconds", () => {
	it("uses Retry-After when the server sent one, even beyond the policy's cap", () => {
		expect(nextDelaySeconds(1, policy, 120, () => 0)).toBe(120);
		expect(
			nextDelaySeconds(
				1,
				{ baseDelaySeconds: 1, maxDelaySeconds: 5 },
				90,
				() => 0,
			),
		).toBe(90);
	});

	it("keeps within the queue's 12-hour limit", () => {
		expect(nextDelaySeconds(1, policy, 10 * 86_400)).toBe(
			LIMITS.maxQueueDelaySeconds,
		);
	});

	it("falls back to the backoff without Retry-After", () => {
		expect(nextDelaySeconds(2, policy, undefined, () => 0)).toBe(10);
	});
});
