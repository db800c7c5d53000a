import { describe, expect, it } from "vitest";
import { groupOf, lifetimeValueOf, traitRows } from "./event-facts";

const order = (properties: Record<string, unknown>) =>
	({ type: "track", event: "Order Completed", properties }) as const;

describe("lifetimeValueOf", () => {
	it("takes revenue, else total, else value", () => {
		expect(lifetimeValueOf(order({ revenue: 55, total: 61.1, value: 1 }))).toBe(
			55,
		);
		expect(lifetimeValueOf(order({ total: 61.1, value: 1 }))).toBe(61.1);
		expect(lifetimeValueOf(order({ value: "12.5" }))).toBe(12.5);
	});

	it("skips amounts that are not numbers", () => {
		expect(lifetimeValueOf(order({ revenue: "n/a", total: 20 }))).toBe(20);
		expect(
			lifetimeValueOf(order({ revenue: null, total: "" })),
		).toBeUndefined();
		expect(lifetimeValueOf(order({ revenue: Number.NaN }))).toBeUndefined();
	});

	it("counts Order Completed only", () => {
		expect(
			lifetimeValueOf({
				type: "track",
				event: "Checkout Started",
				properties: { revenue: 9 },
			}),
		).toBeUndefined();
		expect(
			lifetimeValueOf({ type: "page", properties: { revenue: 9 } }),
		).toBeUndefined();
	});
});

describe("groupOf", () => {
	it("reads a group call's id and traits", () => {
		expect(
			groupOf({ type: "group", groupId: " org_1 ", traits: { plan: "team" } }),
		).toEqual({
			groupId: "org_1",
			traits: { plan: "team" },
		});
		expect(groupOf({ type: "identify", groupId: "org_1" })).toBeUndefined();
		expect(groupOf({ type: "group", groupId: " " })).toBeUndefined();
	});
});

describe("traitRows", () => {
	it("stores each value as JSON and skips undefined and prototype keys", () => {
		const traits = JSON.parse(
			'{"plan":"pro","seats":3,"address":{"city":"Berlin"},"gone":null,"__proto__":{"x":1}}',
		);
		traits.skipped = undefined;
		expect(traitRows(traits)).toEqual([
			["plan", '"pro"'],
			["seats", "3"],
			["address", '{"city":"Berlin"}'],
			["gone", "null"],
		]);
	});
});
