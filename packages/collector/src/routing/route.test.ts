import * as v from "valibot";
import { describe, expect, it } from "vitest";
import type { Destination } from "../config/destinations";
import { type Source, SourceSchema } from "../config/schema";
import type { EnrichedEvent } from "../event";
import { profileKeyOf, routeVerdict } from "./route";

// A source as the config schema completes it, every default filled in.
const source: Source = v.parse(SourceSchema, {
	id: "web",
	writeKey: "wk_test_0123456789",
});
const ga4 = {
	id: "ga",
	type: "ga4",
	enabled: true,
	consent: ["analytics"],
	filters: { types: { include: ["track"] } },
	retry: { maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600 },
	timeoutMs: 10_000,
	settings: {
		measurementId: "G-ABC123",
		apiSecret: { secret: "GA4" },
		endpoint: "https://www.google-analytics.com",
	},
} as Destination;
const event = (extra: Partial<EnrichedEvent> = {}): EnrichedEvent => ({
	type: "track",
	event: "Signed Up",
	messageId: "m",
	anonymousId: "a1",
	timestamp: "t",
	receivedAt: "t",
	context: { consent: { categoryPreferences: { analytics: true } } },
	...extra,
});

describe("routeVerdict", () => {
	it("routes an event that passes every check", () => {
		expect(routeVerdict(ga4, "web", event(), source)).toBeUndefined();
	});

	it("checks enabled, integrations, filters, then consent", () => {
		expect(
			routeVerdict({ ...ga4, enabled: false }, "web", event(), source),
		).toBe("destination disabled");
		expect(
			routeVerdict(
				ga4,
				"web",
				event({ integrations: { "Google Analytics 4": false } }),
				source,
			),
		).toBe("turned off by the event's integrations");
		expect(
			routeVerdict(
				ga4,
				"web",
				event({ integrations: { All: false, ga: true } }),
				source,
			),
		).toBeUndefined();
		expect(routeVerdict(ga4, "web", event({ type: "page" }), source)).toBe(
			"type 'page' is not included",
		);
		expect(routeVerdict(ga4, "web", event({ context: {} }), source)).toBe(
			"consent 'analytics' not granted",
		);
		// A source that is gone from the config grants nothing by default.
		expect(routeVerdict(ga4, "web", event({ context: {} }), undefined)).toBe(
			"consent 'analytics' not granted",
		);
	});
});

describe("profileKeyOf", () => {
	it("prefers the resolved profile, then the userId, then the anonymousId", () => {
		expect(
			profileKeyOf(event({ userId: "u1", context: { profileId: "p1" } })),
		).toBe("p1");
		expect(profileKeyOf(event({ userId: "u1" }))).toBe("u1");
		expect(profileKeyOf(event())).toBe("a1");
	});
});
