import { describe, expect, it } from "vitest";
import { withoutNullFields } from "./null-fields";

describe("withoutNullFields", () => {
	it("drops top-level nulls and keeps nested ones", () => {
		const event = {
			type: "page",
			name: null,
			category: null,
			userId: "u1",
			properties: { coupon: null },
		};
		expect(withoutNullFields(event)).toEqual({
			type: "page",
			userId: "u1",
			properties: { coupon: null },
		});
		// The client's object is left as it was.
		expect(event.name).toBeNull();
	});

	it("returns the same object when nothing is null", () => {
		const event = { type: "track", event: "A", userId: "u1" };
		expect(withoutNullFields(event)).toBe(event);
	});
});
