import { describe, expect, it } from "vitest";
import { preferences } from "./consent";

const categories = ["necessary", "analytics", "marketing"];

describe("preferences", () => {
	it("grants everything in opt-out mode and only necessary in opt-in mode", () => {
		expect(preferences(categories, "opt-out", false, {})).toEqual({
			necessary: true,
			analytics: true,
			marketing: true,
		});
		expect(preferences(categories, "opt-in", false, {})).toEqual({
			necessary: true,
			analytics: false,
			marketing: false,
		});
	});

	it("lets Global Privacy Control deny marketing until the person grants it", () => {
		expect(preferences(categories, "opt-out", true, {}).marketing).toBe(false);
		expect(
			preferences(categories, "opt-out", true, { analytics: false }),
		).toEqual({ necessary: true, analytics: false, marketing: false });
		expect(
			preferences(categories, "opt-out", true, { marketing: true }).marketing,
		).toBe(true);
	});

	it("always knows necessary and analytics, and takes custom categories", () => {
		expect(preferences(["personalisation"], "opt-in", false, {})).toEqual({
			necessary: true,
			analytics: false,
			personalisation: false,
		});
	});
});
