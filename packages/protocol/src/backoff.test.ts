import { describe, expect, it } from "vitest";
import { type BackoffPolicy, backoff } from "./backoff";

const browser: BackoffPolicy = { base: 1000, cap: 300_000 };
const queue: BackoffPolicy = { base: 10, cap: 3600, maxWait: 43_200 };

describe("backoff", () => {
	it("doubles per attempt, waiting between half the step and the whole step", () => {
		expect([1, 2, 3, 4].map((n) => backoff(n, browser, 0))).toEqual([
			500, 1000, 2000, 4000,
		]);
		expect([1, 2, 3, 4].map((n) => backoff(n, browser, 0.999))).toEqual([
			999.5, 1999, 3998, 7996,
		]);
		expect([1, 2, 3, 4].map((n) => backoff(n, queue, 1))).toEqual([
			10, 20, 40, 80,
		]);
	});

	it("spreads retries: different draws give different delays within the step", () => {
		const delays = [0, 0.25, 0.5, 0.75, 0.99].map((r) => backoff(3, queue, r));
		expect(new Set(delays).size).toBe(5);
		for (const d of delays) expect(d).toBeGreaterThanOrEqual(20);
		for (const d of delays) expect(d).toBeLessThanOrEqual(40);
	});

	it("waits exactly the step without jitter", () => {
		const fixed = { base: 5, cap: 300, jitter: 0 };
		expect([1, 2, 3, 7, 30].map((n) => backoff(n, fixed, 0.7))).toEqual([
			5, 10, 20, 300, 300,
		]);
	});

	it("stops growing at the cap, however many attempts failed", () => {
		expect(backoff(30, browser, 0.999)).toBeLessThanOrEqual(300_000);
		expect(backoff(30, browser, 0)).toBe(150_000);
		expect(backoff(2000, browser, 0)).toBe(150_000);
	});

	it("treats attempt 0 as the first retry", () => {
		expect(backoff(0, browser, 0)).toBe(backoff(1, browser, 0));
	});

	it("never retries sooner than Retry-After, even beyond the cap", () => {
		expect(backoff(1, browser, 0.5, 20_000)).toBe(20_000);
		expect(backoff(6, browser, 0.5, 1000)).toBe(24_000);
		expect(backoff(1, { base: 1, cap: 5 }, 0, 90)).toBe(90);
	});

	it("keeps a Retry-After within maxWait", () => {
		expect(backoff(1, queue, 0, 10 * 86_400)).toBe(43_200);
		expect(backoff(1, browser, 0, 10 * 86_400_000)).toBe(10 * 86_400_000);
	});
});
