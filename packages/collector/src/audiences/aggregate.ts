import type { Aggregate } from "./schema";

/*
 * Accumulators: the bounded state each aggregate keeps, how one value is added, how two are
 * combined (for window buckets and for merged profiles), and the trait value they give. Every
 * operation is order-independent, so events that arrive shuffled give the same result:
 * first/last keep the event time with the value and compare it, ties broken by the value.
 */

/** Distinct values a `unique` count keeps; past it, new values are no longer counted. */
export const UNIQUE_CAP = 1000;
/** Distinct values a `mostFrequent` keeps counts for; past it, new values are ignored. */
export const FREQUENT_CAP = 100;

/** A scalar an aggregate may take: what JSON can carry that is not an object or array. */
export type Scalar = string | number | boolean;

/** The state of one aggregate, as stored (JSON). */
export type Acc =
	| number // count, sum
	| null // min, max, first, last before any value
	| [string, Scalar] // first, last: [time, value]; min, max hold a plain number
	| string[] // unique: JSON of each value, sorted
	| Record<string, number>; // mostFrequent: JSON of a value → its count

/**
 * The state of an aggregate that has seen nothing.
 *
 * @example
 * emptyAcc("count") // 0
 */
export function emptyAcc(aggregate: Aggregate): Acc {
	switch (aggregate) {
		case "count":
		case "sum":
			return 0;
		case "unique":
			return [];
		case "mostFrequent":
			return {};
		default:
			return null;
	}
}

/**
 * The value an aggregate takes from an event's value, or undefined when it takes none (a sum
 * of a string that is not a number, an object for `unique`).
 *
 * @example
 * usable("sum", "12.5") // 12.5
 * usable("unique", { a: 1 }) // undefined
 */
export function usable(
	aggregate: Aggregate,
	value: unknown,
): Scalar | undefined {
	if (aggregate === "count") return 0;
	if (aggregate === "sum" || aggregate === "min" || aggregate === "max") {
		const n =
			typeof value === "number"
				? value
				: typeof value === "string" && value.trim() !== ""
					? Number(value)
					: Number.NaN;
		return Number.isFinite(n) ? n : undefined;
	}
	return typeof value === "string" ||
		typeof value === "boolean" ||
		(typeof value === "number" && Number.isFinite(value))
		? value
		: undefined;
}

/**
 * Adds one value (seen at `time`, ISO-8601) to an accumulator; returns the new state.
 *
 * @example
 * addValue("last", ["2026-11-01T08:00:00.000Z", "a"], "b", "2026-11-01T09:00:00.000Z") // ["2026-11-01T09:00:00.000Z", "b"]
 */
export function addValue(
	aggregate: Aggregate,
	acc: Acc,
	value: Scalar,
	time: string,
): Acc {
	switch (aggregate) {
		case "count":
			return (acc as number) + 1;
		case "sum":
			return (acc as number) + (value as number);
		case "min":
			return acc === null
				? (value as number)
				: Math.min(acc as number, value as number);
		case "max":
			return acc === null
				? (value as number)
				: Math.max(acc as number, value as number);
		case "first":
		case "last":
			return mergeAcc(aggregate, acc, [time, value]);
		case "unique":
			return mergeAcc(aggregate, acc, [JSON.stringify(value)]);
		case "mostFrequent":
			return mergeAcc(aggregate, acc, { [JSON.stringify(value)]: 1 });
	}
}

/**
 * Two accumulators of the same aggregate as one: window buckets summed up, or the states of
 * two profiles that merged.
 *
 * @example
 * mergeAcc("max", 3, 5) // 5
 * mergeAcc("unique", ['"a"'], ['"a"', '"b"']) // ['"a"', '"b"']
 */
export function mergeAcc(aggregate: Aggregate, a: Acc, b: Acc): Acc {
	switch (aggregate) {
		case "count":
		case "sum":
			return (a as number) + (b as number);
		case "min":
		case "max":
			if (a === null) return b;
			if (b === null) return a;
			return aggregate === "min"
				? Math.min(a as number, b as number)
				: Math.max(a as number, b as number);
		case "first":
		case "last": {
			if (a === null) return b;
			if (b === null) return a;
			const [x, y] = [a as [string, Scalar], b as [string, Scalar]];
			const order = compareTimed(x, y);
			return (aggregate === "first" ? order <= 0 : order >= 0) ? x : y;
		}
		case "unique": {
			const set = new Set(a as string[]);
			for (const item of b as string[]) {
				if (set.size >= UNIQUE_CAP) break;
				set.add(item);
			}
			return [...set].sort();
		}
		case "mostFrequent": {
			const counts = { ...(a as Record<string, number>) };
			for (const [key, n] of Object.entries(b as Record<string, number>)) {
				if (Object.hasOwn(counts, key)) counts[key] = (counts[key] ?? 0) + n;
				else if (Object.keys(counts).length < FREQUENT_CAP) counts[key] = n;
			}
			return counts;
		}
	}
}

/**
 * The trait value an accumulator gives: a number, the first/last/most frequent value, or null
 * when there was none.
 *
 * @example
 * accValue("unique", ['"a"', '"b"']) // 2
 * accValue("mostFrequent", { '"a"': 1, '"b"': 3 }) // "b"
 */
export function accValue(aggregate: Aggregate, acc: Acc): Scalar | null {
	switch (aggregate) {
		case "count":
		case "sum":
		case "min":
		case "max":
			return acc as number | null;
		case "first":
		case "last":
			return acc === null ? null : (acc as [string, Scalar])[1];
		case "unique":
			return (acc as string[]).length;
		case "mostFrequent": {
			let best: [string, number] | undefined;
			// Ties go to the smaller JSON text, so the answer does not depend on arrival order.
			for (const entry of Object.entries(acc as Record<string, number>))
				if (
					!best ||
					entry[1] > best[1] ||
					(entry[1] === best[1] && entry[0] < best[0])
				)
					best = entry;
			return best ? (JSON.parse(best[0]) as Scalar) : null;
		}
	}
}

function compareTimed(x: [string, Scalar], y: [string, Scalar]): number {
	if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
	const [a, b] = [JSON.stringify(x[1]), JSON.stringify(y[1])];
	return a === b ? 0 : a < b ? -1 : 1;
}
