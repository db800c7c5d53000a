import { describe, expect, it } from "vitest";
import { mergeMissing } from "./batch";
import { MAX_EVENT_DEPTH } from "./limits";
import type { WireObject } from "./wire";

describe("mergeMissing", () => {
	it("fills what is missing, recursively, and never copies unsafe keys", () => {
		const shared = JSON.parse(
			'{"app":{"version":"1","name":"x"},"__proto__":{"polluted":1},"locale":"de"}',
		);
		const merged = mergeMissing({ app: { name: "a" }, locale: null }, shared);
		expect(merged).toEqual({ app: { name: "a", version: "1" }, locale: null });
		expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
	});

	it("keeps its own value past MAX_EVENT_DEPTH levels", () => {
		// The leaf `n` levels below the context, which is level 2 of an event.
		const nest = (n: number, leaf: object): object =>
			n === 0 ? leaf : { x: nest(n - 1, leaf) };
		const levels = MAX_EVENT_DEPTH - 2;
		// The leaf at level MAX_EVENT_DEPTH is still merged; one level deeper it is not.
		const within = mergeMissing(
			nest(levels, { a: 1 }) as WireObject,
			nest(levels, { b: 2 }) as WireObject,
		);
		expect(JSON.stringify(within)).toContain('{"a":1,"b":2}');
		const past = mergeMissing(
			nest(levels + 1, { a: 1 }) as WireObject,
			nest(levels + 1, { b: 2 }) as WireObject,
		);
		expect(JSON.stringify(past)).not.toContain('"b"');
	});
});
