import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/schema";
import { identitySettings } from "./settings";

describe("identitySettings", () => {
	it("defaults to email, one user_id per profile, the built-in blocked values", () => {
		const rules = identitySettings(undefined);
		expect(rules.traitIdentifiers).toEqual(["email"]);
		expect(rules.maxPerProfile).toEqual({ user_id: 1 });
		expect(rules.maxValueLength).toBe(255);
		expect(rules.suppressionDays).toBe(30);
		for (const value of [
			"",
			"null",
			"undefined",
			"0",
			"-1",
			"anonymous",
			"guest",
			"unknown",
		])
			expect(rules.blocked.has(value)).toBe(true);
	});

	it("adds configured blocked values (lower-cased) to the built-in ones", () => {
		const rules = identitySettings({ blockedValues: [" Test@Example.com "] });
		expect(rules.blocked.has("test@example.com")).toBe(true);
		expect(rules.blocked.has("guest")).toBe(true);
	});

	it("keeps the user_id limit when other limits are configured, and lets it be raised", () => {
		expect(
			identitySettings({ maxPerProfile: { email: 2 } }).maxPerProfile,
		).toEqual({
			user_id: 1,
			email: 2,
		});
		expect(
			identitySettings({ maxPerProfile: { user_id: 3 } }).maxPerProfile,
		).toEqual({
			user_id: 3,
		});
	});
});

describe("a source's identity config", () => {
	const source = { id: "web", writeKey: "wk_test_0123456789" };

	it("is optional and filled with the defaults", () => {
		const parsed = parseConfig({ version: 1, sources: [source] });
		expect(parsed.ok && parsed.config.config.sources[0]?.identity).toEqual({
			traitIdentifiers: ["email"],
			blockedValues: [],
			maxPerProfile: {},
			maxValueLength: 255,
			suppressionDays: 30,
		});
	});

	it("rejects unsafe or unknown settings with a path to them", () => {
		const parsed = parseConfig({
			version: 1,
			sources: [
				{
					...source,
					identity: {
						traitIdentifiers: ["user_id"],
						maxPerProfile: { user_id: 0 },
						suppressionDays: 400,
						typo: true,
					},
				},
			],
		});
		expect(parsed.ok).toBe(false);
		const errors = parsed.ok ? [] : parsed.errors.join("\n");
		expect(errors).toContain("sources.0.identity.traitIdentifiers.0");
		expect(errors).toContain("sources.0.identity.maxPerProfile.user_id");
		expect(errors).toContain("sources.0.identity.suppressionDays");
		expect(errors).toContain("sources.0.identity.typo");
	});
});
