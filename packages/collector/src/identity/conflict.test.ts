import { describe, expect, it } from "vitest";
import { isConflict } from "./conflict";

describe("isConflict", () => {
	it("recognises a lost race on an identifier or on a profile", () => {
		expect(
			isConflict(
				new Error(
					"D1_ERROR: UNIQUE constraint failed: identities.type, identities.value: SQLITE_CONSTRAINT",
				),
			),
		).toBe(true);
		expect(
			isConflict(
				new Error(
					"D1_ERROR: CHECK constraint failed: profiles_unchanged: SQLITE_CONSTRAINT",
				),
			),
		).toBe(true);
	});

	it("leaves every other failure to the queue's retry", () => {
		expect(
			isConflict(
				new Error("D1_ERROR: UNIQUE constraint failed: events.source_id"),
			),
		).toBe(false);
		expect(isConflict(new Error("D1_ERROR: Network connection lost."))).toBe(
			false,
		);
		expect(isConflict("not an error")).toBe(false);
	});
});
