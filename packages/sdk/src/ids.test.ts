import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { ids, ulid } from "./ids";

describe("ulid", () => {
	it("writes ULIDs the reference implementation reads back", () => {
		for (const time of [0, 1, 1_700_000_000_000, 2 ** 48 - 1]) {
			const id = ulid(time, Math.random);
			expect(isValid(id)).toBe(true);
			expect(decodeTime(id)).toBe(time);
		}
	});

	it("spends one random draw per random character", () => {
		expect(ulid(0, () => 0)).toBe("0".repeat(26));
		expect(ulid(0, () => 0.999).slice(10)).toBe("Z".repeat(16));
	});
});

describe("ids", () => {
	it("strictly increases within a millisecond and when the clock steps back", () => {
		const clock = [5, 5, 5, 4, 9];
		const id = ids(() => clock.shift() ?? 0, Math.random);
		const made = [id(), id(), id(), id(), id()];
		expect(made.map(decodeTime)).toEqual([5, 6, 7, 8, 9]);
		expect([...made].sort()).toEqual(made);
	});
});
