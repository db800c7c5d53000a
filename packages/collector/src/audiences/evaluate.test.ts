import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { computedTraits, evaluate } from "./evaluate";
import { compilePlan } from "./plan";
import type { AudiencesConfig } from "./schema";
import {
	applyEvent,
	emptyState,
	mergeStates,
	type ProfileState,
} from "./state";

const H = 3_600_000;
const T0 = Date.parse("2026-11-01T08:00:00.000Z");

const section: AudiencesConfig = {
	source: "audiences",
	computedTraits: [
		{ key: "orders", event: "Order Completed", aggregate: "count" },
		{
			key: "ltv",
			event: "Order Completed",
			aggregate: "sum",
			property: ["properties.revenue", "properties.total"],
		},
		{
			key: "low",
			event: "Order Completed",
			aggregate: "min",
			property: "properties.total",
		},
		{
			key: "high",
			event: "Order Completed",
			aggregate: "max",
			property: "properties.total",
		},
		{
			key: "first_sku",
			event: "Product Added",
			aggregate: "first",
			property: "properties.sku",
		},
		{
			key: "last_sku",
			event: "Product Added",
			aggregate: "last",
			property: "properties.sku",
		},
		{
			key: "skus",
			event: "Product Added",
			aggregate: "unique",
			property: "properties.sku",
		},
		{
			key: "top_sku",
			event: "Product Added",
			aggregate: "mostFrequent",
			property: "properties.sku",
		},
		{
			key: "adds_24h",
			event: "Product Added",
			aggregate: "count",
			window: "24h",
		},
	],
	definitions: [
		{
			key: "cart_abandoners",
			name: "Cart abandoners",
			enabled: true,
			where: [
				{
					trigger: {
						event: "Product Added",
						thenNot: "Order Completed",
						within: "1h",
						exitAfter: "7d",
					},
				},
			],
		},
		{
			key: "busy",
			name: "Busy",
			enabled: true,
			where: [{ event: "Product Added", within: "2h", op: "gte", value: 2 }],
		},
	],
};
const plan = compilePlan(section);

let n = 0;
function track(
	name: string,
	at: number,
	properties: Record<string, unknown> = {},
): EnrichedEvent {
	n++;
	const timestamp = new Date(at).toISOString();
	return {
		type: "track",
		event: name,
		messageId: `m${n}`,
		userId: "u1",
		timestamp,
		receivedAt: timestamp,
		properties,
		context: {},
	};
}

function stateOf(events: readonly EnrichedEvent[], now: number): ProfileState {
	const state = emptyState();
	for (const event of events)
		applyEvent(state, { sourceId: "web", event, rank: 0 }, plan, now);
	return state;
}

describe("computed traits", () => {
	const events = [
		track("Order Completed", T0, { revenue: 30, total: 35 }),
		track("Order Completed", T0 + H, { total: "12.5" }),
		track("Product Added", T0 + 2 * H, { sku: "b" }),
		track("Product Added", T0 + 3 * H, { sku: "a" }),
		track("Product Added", T0 + 4 * H, { sku: "b" }),
		track("Order Completed", T0 + 5 * H, { revenue: "n/a" }),
	];
	const now = T0 + 6 * H;

	it("gives each aggregate's value", () => {
		expect(computedTraits(stateOf(events, now), plan, now)).toEqual({
			lifetime_value: 42.5,
			orders: 3,
			ltv: 42.5,
			low: 12.5,
			high: 35,
			first_sku: "b",
			last_sku: "b",
			skus: 2,
			top_sku: "b",
			adds_24h: 3,
		});
		// The window moves on: a bucket counts while it overlaps (now − 24 h, now].
		expect(
			computedTraits(stateOf(events, now), plan, T0 + 26 * H).adds_24h,
		).toBe(3);
		expect(
			computedTraits(stateOf(events, now), plan, T0 + 27 * H).adds_24h,
		).toBe(2);
		expect(
			computedTraits(stateOf(events, now), plan, T0 + 29 * H).adds_24h,
		).toBe(0);
	});

	it("does not depend on order, duplicates or how events are split between merged profiles", () => {
		const expected = computedTraits(stateOf(events, now), plan, now);
		fc.assert(
			fc.property(
				fc.shuffledSubarray(events, { minLength: events.length }),
				fc.array(fc.nat(events.length - 1), { maxLength: 4 }),
				fc.nat(events.length),
				(shuffled, repeats, cut) => {
					const withCopies = [
						...shuffled,
						...repeats.map((i) => shuffled[i] as EnrichedEvent),
					];
					expect(computedTraits(stateOf(withCopies, now), plan, now)).toEqual(
						expected,
					);
					const merged = mergeStates(
						stateOf(shuffled.slice(0, cut), now),
						stateOf(shuffled.slice(cut), now),
						plan,
					);
					expect(computedTraits(merged, plan, now)).toEqual(expected);
				},
			),
			{ numRuns: 100 },
		);
	});
});

describe("evaluation over time", () => {
	it("enters the abandoned cart an hour after the add, leaves on an order or after 7 days", () => {
		const added = track("Product Added", T0, { sku: "a" });
		const state = stateOf([added], T0);
		expect(
			evaluate(state, plan, T0 + H - 1).members.has("cart_abandoners"),
		).toBe(false);
		expect(evaluate(state, plan, T0 + H - 1).nextCheckMs).toBe(T0 + H);
		expect(evaluate(state, plan, T0 + H).members.has("cart_abandoners")).toBe(
			true,
		);
		// Next, the add's hourly bucket leaves the 2-hour window of "busy"; then the 7 days end.
		expect(evaluate(state, plan, T0 + H).nextCheckMs).toBe(T0 + 3 * H);
		expect(evaluate(state, plan, T0 + 3 * H).nextCheckMs).toBe(T0 + 7 * 24 * H);
		expect(
			evaluate(state, plan, T0 + 7 * 24 * H).members.has("cart_abandoners"),
		).toBe(false);

		const ordered = stateOf(
			[added, track("Order Completed", T0 + 2 * H)],
			T0 + 2 * H,
		);
		expect(
			evaluate(ordered, plan, T0 + 2 * H).members.has("cart_abandoners"),
		).toBe(false);
		// An order within the hour: never in.
		const quick = stateOf(
			[added, track("Order Completed", T0 + H / 2)],
			T0 + H / 2,
		);
		expect(
			evaluate(quick, plan, T0 + 3 * H).members.has("cart_abandoners"),
		).toBe(false);
		// A new add after the order starts a new wait.
		const again = stateOf(
			[
				added,
				track("Order Completed", T0 + H / 2),
				track("Product Added", T0 + 3 * H),
			],
			T0 + 3 * H,
		);
		expect(
			evaluate(again, plan, T0 + 4 * H).members.has("cart_abandoners"),
		).toBe(true);
	});

	it("leaves a windowed audience when its bucket leaves the window, and says when", () => {
		const state = stateOf(
			[
				track("Product Added", T0 + 10 * 60_000),
				track("Product Added", T0 + H + 10 * 60_000),
			],
			T0 + H + 20 * 60_000,
		);
		const at = T0 + H + 20 * 60_000;
		expect(evaluate(state, plan, at).members.has("busy")).toBe(true);
		// The cart trigger's wait ends first (an hour after the last add), then the 08:00 bucket
		// stops overlapping (now − 2 h, now] at 11:00.
		expect(evaluate(state, plan, at).nextCheckMs).toBe(
			T0 + 2 * H + 10 * 60_000,
		);
		expect(evaluate(state, plan, T0 + 2 * H + 10 * 60_000).nextCheckMs).toBe(
			T0 + 3 * H,
		);
		expect(evaluate(state, plan, T0 + 3 * H - 1).members.has("busy")).toBe(
			true,
		);
		expect(evaluate(state, plan, T0 + 3 * H).members.has("busy")).toBe(false);
	});
});
