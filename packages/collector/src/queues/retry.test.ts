import { describe, expect, it } from "vitest";
import { attemptsOf, retryDelaySeconds } from "./retry";

describe("retryDelaySeconds", () => {
	it("doubles from 5 s and stops at 5 min", () => {
		expect(
			[1, 2, 3, 4, 7, 8, 20].map((n) => retryDelaySeconds(n, 0.9999)),
		).toEqual([5, 10, 20, 40, 300, 300, 300]);
	});

	it("waits at least half of each step, so batches that failed together spread out", () => {
		expect([1, 2, 3, 4, 7, 20].map((n) => retryDelaySeconds(n, 0))).toEqual([
			3, 5, 10, 20, 150, 150,
		]);
		const delays = [0, 0.3, 0.6, 0.9].map((r) => retryDelaySeconds(4, r));
		expect(new Set(delays).size).toBe(4);
	});
});

describe("attemptsOf", () => {
	it("takes the most-tried message, and 1 for an empty batch", () => {
		expect(attemptsOf([{ attempts: 2 }, { attempts: 5 }])).toBe(5);
		expect(attemptsOf([])).toBe(1);
	});
});
