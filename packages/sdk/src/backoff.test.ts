import { describe, expect, it } from "vitest";
import { backoff, retryAfter } from "./backoff";

describe("backoff", () => {
	it("doubles per attempt, with the random half between 50% and 100% of the ceiling", () => {
		expect([0, 1, 2, 3].map((n) => backoff(n, 0, 0))).toEqual([
			500, 1000, 2000, 4000,
		]);
		expect([0, 1, 2, 3].map((n) => backoff(n, 0.999, 0))).toEqual([
			999.5, 1999, 3998, 7996,
		]);
	});

	it("stops growing at five minutes", () => {
		expect(backoff(30, 0.999, 0)).toBeLessThanOrEqual(300_000);
		expect(backoff(30, 0, 0)).toBe(150_000);
	});

	it("never retries sooner than Retry-After", () => {
		expect(backoff(0, 0.5, 20_000)).toBe(20_000);
		expect(backoff(5, 0.5, 1000)).toBe(24_000);
	});
});

describe("retryAfter", () => {
	it("reads delay-seconds and HTTP dates", () => {
		expect(retryAfter("2", 0)).toBe(2000);
		expect(retryAfter("0", 0)).toBe(0);
		expect(retryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000)).toBe(4000);
	});

	it("treats a missing, past or malformed value as no wait", () => {
		expect(retryAfter(null, 0)).toBe(0);
		expect(retryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 9000)).toBe(0);
		expect(retryAfter("soon", 0)).toBe(0);
		expect(retryAfter("-3", 0)).toBe(0);
	});
});
