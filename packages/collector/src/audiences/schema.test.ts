import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/schema";

const base = {
	version: 1,
	sources: [
		{ id: "web", writeKey: "wk_test_web_000" },
		{ id: "audiences", writeKey: "wk_test_audiences" },
	],
	destinations: [
		{
			id: "crm",
			type: "webhook",
			settings: { url: "https://crm.example.com/in" },
		},
	],
};

function errorsOf(audiences: unknown): string[] {
	const result = parseConfig({ ...base, audiences });
	return result.ok ? [] : result.errors;
}

const CART = {
	key: "cart_abandoners",
	name: "Cart abandoners",
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
	destinations: ["crm"],
};

describe("the audiences section of the config", () => {
	it("takes computed traits, conditions of every kind and a trigger", () => {
		const result = parseConfig({
			...base,
			audiences: {
				source: "audiences",
				computedTraits: [
					{
						key: "lifetime_value",
						event: "Order Completed",
						aggregate: "sum",
						property: ["properties.revenue", "properties.total"],
					},
					{
						key: "views_7d",
						event: "Product Viewed",
						aggregate: "count",
						window: "7d",
					},
				],
				definitions: [
					CART,
					{
						key: "gamers",
						name: "Gamers",
						where: [
							{
								event: "Product Viewed",
								where: [
									{ path: "properties.category", op: "eq", value: "Games" },
								],
								within: "7d",
								value: 3,
							},
							{
								any: [
									{ path: "computed.lifetime_value", op: "gte", value: 100 },
									{
										not: { path: "consent.marketing", op: "eq", value: false },
									},
								],
							},
							{ path: "group.plan", op: "eq", value: "enterprise" },
						],
					},
				],
			},
		});
		expect(result.ok ? [] : result.errors).toEqual([]);
	});

	it("points each error at its path", () => {
		expect(
			errorsOf({
				source: "nope",
				computedTraits: [
					{ key: "ltv", event: "Order Completed", aggregate: "sum" },
					{ key: "Bad Key", event: "x", aggregate: "count", window: "7 days" },
				],
				definitions: [
					{ ...CART, destinations: ["crm", "ghost"] },
					{
						key: "cart_abandoners",
						name: "Again",
						where: [
							{ any: [{ path: "computed.missing", op: "gt", value: 1 }] },
							{ path: "properties.revenue", op: "gt", value: 1 },
							{ event: "Product Viewed", within: "soon" },
							{ trigger: { event: "A", thenNot: "B", within: "1h" } },
						],
					},
				],
			}),
		).toEqual([
			"audiences.computedTraits.0: needs a 'property' for this aggregate (only 'count' goes without)",
			"audiences.computedTraits.1.key: must be 1–64 lower-case letters, digits or '_', starting with a letter",
			"audiences.computedTraits.1.window: must be a whole number and a unit: m (minutes), h (hours) or d (days), such as 30d",
			"audiences.definitions.1.where.1: path must start with traits., group., computed. or consent.",
			"audiences.definitions.1.where.2.within: must be a whole number and a unit: m (minutes), h (hours) or d (days), such as 30d",
			"audiences.definitions.1.where.3.trigger.exitAfter: is required",
		]);
		// With the shapes right, the cross-checks speak.
		expect(
			errorsOf({
				source: "nope",
				definitions: [
					{ ...CART, destinations: ["crm", "ghost"] },
					{
						key: "cart_abandoners",
						name: "Again",
						where: [
							{ any: [{ path: "computed.missing", op: "gt", value: 1 }] },
						],
					},
				],
			}),
		).toEqual([
			"audiences.source: names unknown source 'nope'",
			"audiences.definitions.0.destinations.1: names unknown destination 'ghost'",
			"audiences.definitions.1.key: duplicate audience key 'cart_abandoners'",
			"audiences.definitions.1.where.0.any.0.path: names unknown computed trait 'missing'",
		]);
	});

	it("bounds nesting and windows", () => {
		let deep: unknown = { path: "traits.plan", op: "exists" };
		for (let i = 0; i < 6; i++) deep = { not: deep };
		const errors = errorsOf({
			source: "audiences",
			computedTraits: [
				{ key: "a", event: "x", aggregate: "count", window: "400d" },
			],
			definitions: [{ key: "deep", name: "Deep", where: [deep] }],
		});
		expect(errors).toHaveLength(2);
		expect(errors[0]).toBe(
			"audiences.computedTraits.0.window: must be at most 366 days",
		);
		expect(errors[1]).toMatch(
			/^audiences\.definitions\.0\.where\.0\.not\.not\.not\.not\.not: 'any' and 'not' nest at most 4 levels/,
		);
	});
	it("takes sendOnBackfill as a boolean, and names its path otherwise", () => {
		expect(
			errorsOf({
				source: "audiences",
				definitions: [{ ...CART, sendOnBackfill: true }],
			}),
		).toEqual([]);
		const errors = errorsOf({
			source: "audiences",
			definitions: [{ ...CART, sendOnBackfill: "yes" }],
		});
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatch(/^audiences\.definitions\.0\.sendOnBackfill: /);
	});
});
