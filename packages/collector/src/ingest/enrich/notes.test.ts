import { describe, expect, it } from "vitest";
import { LIMITS } from "../../limits";
import { EnrichmentNotes } from "./notes";

const MAX = LIMITS.maxEnrichedStringLength;

describe("EnrichmentNotes", () => {
	it("keeps strings within the limit and notes nothing", () => {
		const notes = new EnrichmentNotes();
		expect(notes.cap("x".repeat(MAX), "userAgent")).toHaveLength(MAX);
		const context = {};
		notes.writeTo(context);
		expect(context).toEqual({});
	});

	it("cuts longer strings and lists their paths in context.enrichment", () => {
		const notes = new EnrichmentNotes();
		expect(notes.cap("x".repeat(40_000), "userAgent")).toHaveLength(MAX);
		const campaign = notes.capStrings(
			{ source: "s".repeat(MAX + 1), medium: "cpc", n: 3 },
			"campaign",
		);
		expect(campaign).toEqual({ source: "s".repeat(MAX), medium: "cpc", n: 3 });
		const context: Record<string, unknown> = {};
		notes.writeTo(context);
		expect(context.enrichment).toEqual({
			truncated: ["userAgent", "campaign.source"],
		});
	});

	it("never splits a surrogate pair", () => {
		const notes = new EnrichmentNotes();
		const cut = notes.cap(`${"x".repeat(MAX - 1)}😀😀`, "campaign.name");
		expect(cut).toBe("x".repeat(MAX - 1));
		expect(cut.isWellFormed()).toBe(true);
	});
});
