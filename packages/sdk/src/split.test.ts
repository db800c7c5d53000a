import { expect, it } from "vitest";
import { split } from "./split";

const id = (n: number) => n;

it("keeps order and fills each run up to the limit", () => {
	expect(split([3, 3, 3, 1], id, 7, Number.POSITIVE_INFINITY)).toEqual([
		[3, 3],
		[3, 1],
	]);
	expect(split([7, 7], id, 7, Number.POSITIVE_INFINITY)).toEqual([[7], [7]]);
});

it("sends an oversized item alone", () => {
	expect(split([1, 9, 1], id, 7, Number.POSITIVE_INFINITY)).toEqual([
		[1],
		[9],
		[1],
	]);
});

it("returns no runs for no items", () => {
	expect(split([], id, 7, Number.POSITIVE_INFINITY)).toEqual([]);
});

it("caps the number of items per run", () => {
	expect(split([1, 1, 1, 1, 1], id, 100, 2)).toEqual([[1, 1], [1, 1], [1]]);
});
