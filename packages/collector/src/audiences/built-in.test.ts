import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { computedTraits } from "./evaluate";
import { compilePlan } from "./plan";
import { type AudiencesConfig, audienceIssues, LIFETIME_VALUE } from "./schema";
import { applyEvent, emptyState } from "./state";

const AT = "2026-11-01T08:00:00.000Z";
let n = 0;

function event(
	type: "track" | "page",
	name: string | undefined,
	properties: Record<string, unknown>,
): EnrichedEvent {
	n++;
	return {
		type,
		...(name !== undefined && { event: name }),
		messageId: `m${n}`,
		userId: "u1",
		timestamp: AT,
		receivedAt: AT,
		properties,
		context: {},
	};
}

const order = (properties: Record<string, unknown>) =>
	event("track", "Order Completed", properties);

function traitsAfter(
	events: readonly EnrichedEvent[],
	section?: AudiencesConfig,
): Record<string, unknown> {
	const plan = compilePlan(section);
	const state = emptyState();
	for (const e of events)
		applyEvent(
			state,
			{ sourceId: "web", event: e, rank: 0 },
			plan,
			Date.parse(AT),
		);
	return computedTraits(state, plan, Date.parse(AT));
}

describe("the built-in lifetime value", () => {
	it("is kept with no audiences section", () => {
		expect(traitsAfter([])).toEqual({ lifetime_value: 0 });
		expect(compilePlan(undefined).tracked).toMatchObject([
			{ id: "lifetime_value", builtIn: true },
		]);
	});

	it("adds revenue, else total, else value, of each Order Completed", () => {
		expect(
			traitsAfter([
				order({ revenue: 55, total: 61.1, value: 1 }),
				order({ total: 61.1, value: 1 }),
				order({ value: "12.5" }),
			]).lifetime_value,
		).toBeCloseTo(128.6, 9);
	});

	it("skips amounts that are not numbers", () => {
		expect(
			traitsAfter([
				order({ revenue: "n/a", total: 20 }),
				order({ revenue: null, total: "" }),
				order({ revenue: { amount: 3 } }),
			]).lifetime_value,
		).toBe(20);
	});

	it("counts Order Completed only", () => {
		expect(
			traitsAfter([
				event("track", "Checkout Started", { revenue: 9 }),
				event("page", undefined, { revenue: 9 }),
			]).lifetime_value,
		).toBe(0);
	});

	it("is replaced by a configured trait of its key, and stays built in when defined the same", () => {
		const section: AudiencesConfig = {
			source: "audiences",
			computedTraits: [
				{
					key: "lifetime_value",
					event: "Order Completed",
					aggregate: "sum",
					property: "properties.subtotal",
				},
			],
			definitions: [],
		};
		expect(
			traitsAfter([order({ revenue: 50, subtotal: 40 })], section)
				.lifetime_value,
		).toBe(40);
		expect(compilePlan(section).tracked[0]?.builtIn).toBeUndefined();
		const same = { ...section, computedTraits: [{ ...LIFETIME_VALUE }] };
		expect(compilePlan(same).tracked[0]?.builtIn).toBe(true);
	});

	it("may be read by a condition without being defined", () => {
		const section: AudiencesConfig = {
			source: "audiences",
			computedTraits: [],
			definitions: [
				{
					key: "high_value",
					name: "High value",
					enabled: true,
					where: [{ path: "computed.lifetime_value", op: "gte", value: 500 }],
				},
			],
		};
		expect(audienceIssues(section, new Set(["audiences"]), new Set())).toEqual(
			[],
		);
		expect(compilePlan(section).audiences[0]?.uses).toEqual(["lifetime_value"]);
	});
});
