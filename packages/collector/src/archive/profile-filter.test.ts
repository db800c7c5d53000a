import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mayHoldAny, profileFilter } from "./profile-filter";

describe("profile filter", () => {
	it("always answers maybe for a profile it was built with", () => {
		fc.assert(
			fc.property(
				fc.uniqueArray(fc.string({ minLength: 1 }), {
					minLength: 1,
					maxLength: 3000,
				}),
				(ids) => {
					const filter = profileFilter(ids);
					expect(filter.length).toBeLessThanOrEqual(2732);
					for (const id of ids) expect(mayHoldAny(filter, [id])).toBe(true);
				},
			),
			{ numRuns: 50 },
		);
	});

	it("answers no for almost every other profile at the designed size", () => {
		const held = Array.from({ length: 300 }, (_, i) => `prof_${i}`);
		const filter = profileFilter(held);
		const others = Array.from({ length: 10_000 }, (_, i) => `other_${i}`);
		const maybe = others.filter((id) => mayHoldAny(filter, [id])).length;
		// About 10 bits a profile and 7 probes: about 1 % false positives.
		expect(maybe / others.length).toBeLessThan(0.03);
		expect(mayHoldAny(filter, ["other_1", "prof_7"])).toBe(true);
	});

	it("reads an object without a filter, or with one it did not write", () => {
		expect(mayHoldAny(undefined, ["prof_1"])).toBe(true);
		expect(mayHoldAny("not base64!", ["prof_1"])).toBe(true);
		expect(mayHoldAny(btoa("abc"), ["prof_1"])).toBe(true);
		expect(mayHoldAny(profileFilter([]), ["prof_1"])).toBe(false);
	});
});
