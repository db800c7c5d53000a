import { describe, expect, it } from "vitest";
import { isolate, isSystemic, SystemicFailure } from "./isolate";

/** A stage that fails on any part holding a poisoned item, like SQLite on a bad event. */
function stage(poisoned: ReadonlySet<number>) {
	const calls: number[][] = [];
	const run = async (part: number[]) => {
		calls.push(part);
		if (part.some((item) => poisoned.has(item)))
			throw new Error("D1_ERROR: malformed JSON: SQLITE_ERROR");
		return part;
	};
	return { run, calls };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("isolate", () => {
	it("runs a healthy batch once", async () => {
		const { run, calls } = stage(new Set());
		const result = await isolate("store", range(100), run);
		expect(result).toEqual({ results: [range(100)], refused: [], runs: 1 });
		expect(calls).toHaveLength(1);
	});

	it("pins one poisoned item of 100 on itself, keeping the 99 others, in about 2·log2(100) runs", async () => {
		const { run } = stage(new Set([50]));
		const result = await isolate("store", range(100), run);
		expect(result.refused).toEqual([
			{ item: 50, error: "D1_ERROR: malformed JSON: SQLITE_ERROR" },
		]);
		expect(result.results.flat().sort((a, b) => a - b)).toEqual(
			range(100).filter((i) => i !== 50),
		);
		expect(result.runs).toBeLessThanOrEqual(16);
	});

	it("never refuses a good item, and finds every poisoned one when at most two of ≥ 3 are, for every placement in 10", async () => {
		const items = range(10);
		let exact = 0;
		for (let mask = 1; mask < 2 ** items.length - 1; mask++) {
			const poisoned = new Set(items.filter((i) => mask & (1 << i)));
			const { run } = stage(poisoned);
			try {
				const result = await isolate("store", items, run);
				const refused = result.refused.map((r) => r.item);
				expect(refused.every((i) => poisoned.has(i))).toBe(true);
				expect(new Set(refused)).toEqual(poisoned);
				expect(result.results.flat().sort((a, b) => a - b)).toEqual(
					items.filter((i) => !poisoned.has(i)),
				);
				exact++;
			} catch (error) {
				// Giving up is allowed only when poison is everywhere the descent looked.
				expect(error).toBeInstanceOf(SystemicFailure);
				expect(poisoned.size).toBeGreaterThan(2);
			}
		}
		// 927 of the 1,022 placements are resolved exactly; the rest retry the batch as a whole.
		expect(exact).toBeGreaterThanOrEqual(927);
	});

	it("gives up at once on an error that says the platform is down", async () => {
		let runs = 0;
		const failing = isolate("store", range(100), async () => {
			runs++;
			throw new Error("D1_ERROR: Network connection lost.");
		});
		await expect(failing).rejects.toBeInstanceOf(SystemicFailure);
		expect(runs).toBe(1);
	});

	it("gives up after a bounded number of runs when everything fails with an unknown error", async () => {
		let runs = 0;
		const failing = isolate("store", range(2500), async () => {
			runs++;
			throw new Error("D1_ERROR: no such table: events: SQLITE_ERROR");
		});
		await expect(failing).rejects.toThrow(
			"store: D1_ERROR: no such table: events",
		);
		expect(runs).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(2500)) + 3);
	});

	it("does not refuse an item that fails alone: it may be storage that is down", async () => {
		const { run } = stage(new Set([0]));
		await expect(isolate("store", [0], run)).rejects.toBeInstanceOf(
			SystemicFailure,
		);
	});

	it("does not refuse an item whose failure does not repeat when it is run on its own again", async () => {
		let failures = 0;
		const flaky = async (part: number[]) => {
			// The batch, then the half and the item holding 3, fail once each; then all passes.
			if (part.includes(3) && failures < 4) {
				failures++;
				throw new Error("D1_ERROR: some passing trouble");
			}
			return part;
		};
		const result = await isolate("store", range(8), flaky);
		expect(result.refused).toEqual([]);
		expect(result.results.flat().sort()).toEqual(range(8));
	});
});

describe("isSystemic", () => {
	it("knows D1's documented transient errors and nothing about the data", () => {
		expect(
			isSystemic(
				new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued."),
			),
		).toBe(true);
		expect(
			isSystemic(
				"D1 DB storage operation exceeded timeout which caused object to be reset.",
			),
		).toBe(true);
		expect(
			isSystemic(new Error("D1_ERROR: malformed JSON: SQLITE_ERROR")),
		).toBe(false);
		expect(
			isSystemic(
				new Error(
					"D1_ERROR: UNIQUE constraint failed: identities.type, identities.value",
				),
			),
		).toBe(false);
	});
});
