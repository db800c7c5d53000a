import { describe, expect, it } from "vitest";
import { parseConfig } from "./schema";

const source = { id: "web", writeKey: "wk_test_0123456789" };

describe("destinations in the config", () => {
	it("accepts every destination type with its settings and fills the defaults", () => {
		const result = parseConfig({
			version: 1,
			sources: [{ ...source, consent: { defaults: { analytics: true } } }],
			destinations: [
				{
					id: "hooks",
					type: "webhook",
					settings: {
						url: "https://hooks.example.com/in",
						secrets: [{ secret: "WEBHOOK_SECRET" }],
					},
				},
				{
					id: "seg",
					type: "segment",
					settings: { writeKey: { secret: "SEGMENT_WRITE_KEY" } },
				},
				{
					id: "ga",
					type: "ga4",
					consent: ["analytics", "marketing"],
					settings: {
						measurementId: "G-ABC123",
						apiSecret: { secret: "GA4_API_SECRET" },
					},
				},
				{
					id: "mp",
					type: "mixpanel",
					settings: {
						projectToken: "t",
						credentials: { secret: { secret: "MIXPANEL_SECRET" } },
					},
				},
				{
					id: "amp",
					type: "amplitude",
					batchSize: 500,
					settings: { apiKey: { secret: "AMPLITUDE_API_KEY" } },
				},
				{ id: "ph", type: "posthog", settings: { apiKey: "phc_x" } },
				{ id: "archive", type: "r2" },
			],
		});
		if (!result.ok) throw new Error(result.errors.join("\n"));
		const { destinationsById, sourcesById } = result.config;
		expect(destinationsById.get("hooks")).toMatchObject({
			enabled: true,
			consent: [],
			timeoutMs: 10_000,
			retry: { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 },
		});
		expect(destinationsById.get("seg")?.settings).toMatchObject({
			endpoint: "https://api.segment.io",
		});
		expect(destinationsById.get("archive")?.settings).toEqual({
			prefix: "events/",
		});
		expect(sourcesById.get("web")?.consent).toEqual({
			defaults: { analytics: true },
			gpcDenies: ["marketing"],
		});
	});

	it("refuses a bad config with every error listed", () => {
		const result = parseConfig({
			version: 1,
			sources: [source],
			destinations: [
				{
					id: "hooks",
					type: "webhook",
					settings: { url: "ftp://nope", secrets: ["whsec_plaintext"] },
				},
				{
					id: "hooks",
					type: "ga4",
					batchSize: 100,
					settings: { measurementId: "UA-1", apiSecret: { secret: "ga4" } },
				},
				{ id: "x", type: "carrier-pigeon", settings: {} },
				{
					id: "mp",
					type: "mixpanel",
					settings: {
						projectToken: "t",
						credentials: { username: "sa", secret: { secret: "MP" } },
					},
				},
			],
		});
		expect(result.ok).toBe(false);
		if (result.ok) return;
		const text = result.errors.join("\n");
		expect(text).toContain(
			"destinations.0.settings.url: must be an http(s) URL",
		);
		expect(text).toContain("destinations.0.settings.secrets.0");
		expect(text).toContain(
			"destinations.1.settings.measurementId: must be a GA4 measurement id",
		);
		expect(text).toContain(
			"destinations.1.settings.apiSecret.secret: must name a Worker secret",
		);
		expect(text).toContain(
			"destinations.2.type: must be one of webhook, segment, ga4, mixpanel, amplitude, posthog, r2",
		);
		expect(text).toContain(
			"a service account (credentials.username) needs 'projectId'",
		);
		expect(result.errors.length).toBeGreaterThanOrEqual(6);
	});

	it("checks cross-field rules: unique ids, batch limits, known sources", () => {
		const result = parseConfig({
			version: 1,
			sources: [source],
			destinations: [
				{
					id: "ga",
					type: "ga4",
					batchSize: 100,
					settings: { measurementId: "G-ABC123", apiSecret: { secret: "GA4" } },
				},
				{
					id: "ga",
					type: "posthog",
					filters: { sources: ["app"] },
					settings: { apiKey: "phc_x" },
				},
			],
		});
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual([
			"destinations.0: destination 'ga': batchSize 100 exceeds the ga4 limit of 25",
			"destinations.1: duplicate destination id 'ga'",
			"destinations.1: destination 'ga': filters.sources names unknown source(s) app",
		]);
	});
});
