import { describe, expect, it } from "vitest";
import { chunk, jsonBytes } from "./chunk";

describe("chunk", () => {
	it("cuts by count", () => {
		expect(
			chunk([1, 2, 3, 4, 5], {
				maxItems: 2,
				maxBytes: Infinity,
				sizeOf: () => 1,
			}),
		).toEqual([[1, 2], [3, 4], [5]]);
	});

	it("cuts by bytes, and gives an oversized item a chunk of its own", () => {
		const sizes: Record<string, number> = { a: 4, b: 4, c: 20, d: 1 };
		expect(
			chunk(["a", "b", "c", "d"], {
				maxItems: 10,
				maxBytes: 10,
				sizeOf: (x) => sizes[x] ?? 0,
			}),
		).toEqual([["a", "b"], ["c"], ["d"]]);
	});

	it("returns nothing for nothing", () => {
		expect(chunk([], { maxItems: 1, maxBytes: 1, sizeOf: () => 1 })).toEqual(
			[],
		);
	});

	it("measures JSON in UTF-8 bytes", () => {
		expect(jsonBytes({ a: "é" })).toBe(10);
	});
});
