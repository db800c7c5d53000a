import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../../event";
import { LIMITS } from "../../limits";
import { serialiseEnriched, utf8Length } from "./fit";

const base = {
	type: "page" as const,
	anonymousId: "a",
	messageId: "m1",
	timestamp: "2026-11-01T08:00:00.000Z",
	receivedAt: "2026-11-01T08:00:01.000Z",
};

describe("utf8Length", () => {
	it("measures only what could exceed the limit", () => {
		expect(utf8Length("€€€", 9)).toBe(0);
		expect(utf8Length("€€€", 8)).toBe(9);
	});
});

describe("serialiseEnriched", () => {
	it("passes an event within the limit through unchanged", () => {
		const event: EnrichedEvent = { ...base, context: { userAgent: "UA" } };
		expect(serialiseEnriched(event, {})).toEqual({
			ok: true,
			json: JSON.stringify(event),
		});
	});

	it("gives enrichment back, in order, until the event fits, and says so", () => {
		// 20,000 three-byte characters: 60 KB of the client's own, plus 30 KB enrichment added.
		const client = { page: { title: "€".repeat(20_000) }, device: { id: "d" } };
		const event: EnrichedEvent = {
			...base,
			context: {
				...client,
				userAgent: "U".repeat(10_000),
				browser: { name: "B".repeat(10_000) },
				device: { id: "d", model: "M".repeat(10_000) },
				campaign: { source: "google" },
			},
		};
		const fitted = serialiseEnriched(event, client);
		expect(fitted.ok).toBe(true);
		if (!fitted.ok) return;
		const stored = JSON.parse(fitted.json);
		expect(stored.context.enrichment).toEqual({
			dropped: ["userAgent", "browser", "os", "device"].filter(
				(key) => key !== "os",
			),
		});
		expect(stored.context.userAgent).toBeUndefined();
		expect(stored.context.browser).toBeUndefined();
		expect(stored.context.device).toEqual({ id: "d" });
		expect(stored.context.campaign).toEqual({ source: "google" });
		expect(
			new TextEncoder().encode(fitted.json).byteLength,
		).toBeLessThanOrEqual(LIMITS.maxEnrichedEventBytes);
	});

	it("refuses an event whose own part is over the limit", () => {
		const client = { page: { title: "€".repeat(30_000) } };
		const fitted = serialiseEnriched(
			{ ...base, context: { ...client } },
			client,
		);
		expect(fitted).toEqual({
			ok: false,
			error: expect.stringMatching(
				/^event is 90\d{3} bytes after enrichment; the limit is 65536$/,
			),
		});
	});
});
