import { describe, expect, it } from "vitest";
import { integrationAllows } from "./integrations";

const mixpanel = ["product", "mixpanel", "Mixpanel"];

describe("integrationAllows (Segment semantics)", () => {
	it("allows by default", () => {
		expect(integrationAllows(undefined, mixpanel)).toBe(true);
		expect(integrationAllows({}, mixpanel)).toBe(true);
	});

	it("turns one destination off by id, type or display name", () => {
		expect(integrationAllows({ product: false }, mixpanel)).toBe(false);
		expect(integrationAllows({ mixpanel: false }, mixpanel)).toBe(false);
		expect(integrationAllows({ Mixpanel: false }, mixpanel)).toBe(false);
		expect(integrationAllows({ Amplitude: false }, mixpanel)).toBe(true);
	});

	it("with All: false, allows only what is named true or given options", () => {
		expect(integrationAllows({ All: false }, mixpanel)).toBe(false);
		expect(integrationAllows({ All: false, Mixpanel: true }, mixpanel)).toBe(
			true,
		);
		expect(
			integrationAllows({ All: false, mixpanel: { apiKey: "x" } }, mixpanel),
		).toBe(true);
	});
});
