import { describe, expect, it } from "vitest";
import { originAllowed, parseConfig } from "./schema";

const source = { id: "web", writeKey: "wk_dev_web_0123456789" };

describe("parseConfig", () => {
	it("fills defaults and indexes enabled sources by write key", () => {
		const result = parseConfig({
			version: 1,
			sources: [
				source,
				{ id: "old", writeKey: "wk_old_source", enabled: false },
			],
		});
		if (!result.ok) throw new Error(result.errors.join("\n"));
		const web = result.config.sourcesByWriteKey.get(source.writeKey);
		expect(web).toEqual({
			...source,
			allowedOrigins: [],
			ipPolicy: "truncate",
			rateLimit: true,
			enabled: true,
			identity: {
				traitIdentifiers: ["email"],
				blockedValues: [],
				maxPerProfile: {},
				maxValueLength: 255,
				suppressionDays: 30,
			},
			consent: { defaults: {}, gpcDenies: ["marketing"] },
		});
		expect(result.config.sourcesByWriteKey.has("wk_old_source")).toBe(false);
	});

	it("lists every error at once", () => {
		const result = parseConfig({
			version: 2,
			sources: [
				{ writeKey: "wk_missing_id" },
				{
					id: "Web!",
					writeKey: "short",
					allowedOrigins: ["https://a.example/path"],
					ipPolicy: "some",
					extra: 1,
				},
				source,
				{ ...source, writeKey: "wk_another_key_1" },
			],
		});
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual(
			expect.arrayContaining([
				expect.stringMatching(/^version: /),
				expect.stringMatching(/^sources\.1\.id: must be 1–64 lower-case/),
				expect.stringMatching(/^sources\.1\.writeKey: /),
				expect.stringMatching(
					/^sources\.1\.allowedOrigins\.0: must be '\*' or an exact origin/,
				),
				expect.stringMatching(/^sources\.1\.ipPolicy: /),
				"sources.0.id: is required",
				"sources.1.extra: unknown key",
			]),
		);
		const duplicates = parseConfig({
			version: 1,
			sources: [
				source,
				{ ...source, id: "web2" },
				{ ...source, writeKey: "wk_other_key_1" },
			],
		});
		expect(duplicates.ok ? [] : duplicates.errors).toEqual([
			"sources.1: source 'web2' reuses another source's writeKey",
			"sources.2: duplicate source id 'web'",
		]);
	});
});

describe("originAllowed", () => {
	it("matches exact origins, or anything under '*'", () => {
		expect(originAllowed(["https://a.example"], "https://a.example")).toBe(
			true,
		);
		expect(originAllowed(["https://a.example"], "https://a.example:8443")).toBe(
			false,
		);
		expect(originAllowed(new Set(["*"]), "http://localhost:3000")).toBe(true);
	});
});
