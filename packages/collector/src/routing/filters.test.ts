import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { filterVerdict } from "./filters";

const base = {
	messageId: "m",
	timestamp: "2026-11-01T08:00:00.000Z",
	receivedAt: "2026-11-01T08:00:00.000Z",
	context: {},
	userId: "u",
};
const order: EnrichedEvent = {
	...base,
	type: "track",
	event: "Order Completed",
	properties: { revenue: 30, currency: "EUR" },
};
const page: EnrichedEvent = { ...base, type: "page", name: "Home" };
const identify: EnrichedEvent = {
	...base,
	type: "identify",
	traits: { plan: "pro" },
};

describe("filterVerdict", () => {
	it("passes everything without filters", () => {
		expect(filterVerdict(undefined, "web", order)).toBeUndefined();
		expect(filterVerdict({}, "web", page)).toBeUndefined();
	});

	it("filters by source", () => {
		expect(filterVerdict({ sources: ["web"] }, "web", order)).toBeUndefined();
		expect(filterVerdict({ sources: ["app"] }, "web", order)).toBe(
			"source 'web' is not listed",
		);
	});

	it("filters by event type, include and exclude", () => {
		expect(filterVerdict({ types: { include: ["track"] } }, "web", page)).toBe(
			"type 'page' is not included",
		);
		expect(filterVerdict({ types: { exclude: ["page"] } }, "web", page)).toBe(
			"type 'page' is excluded",
		);
		expect(
			filterVerdict({ types: { exclude: ["page"] } }, "web", order),
		).toBeUndefined();
	});

	it("filters by event name; events without a name pass name lists", () => {
		expect(
			filterVerdict({ events: { include: ["Order Completed"] } }, "web", order),
		).toBeUndefined();
		expect(
			filterVerdict({ events: { include: ["Signed Up"] } }, "web", order),
		).toBe("event 'Order Completed' is not included");
		expect(filterVerdict({ events: { exclude: ["Home"] } }, "web", page)).toBe(
			"event 'Home' is excluded",
		);
		expect(
			filterVerdict({ events: { include: ["Signed Up"] } }, "web", identify),
		).toBeUndefined();
	});

	it("checks property conditions, all of which must hold", () => {
		const where = (c: object) =>
			({ where: [c] }) as Parameters<typeof filterVerdict>[0];
		expect(
			filterVerdict(
				where({ path: "properties.revenue", op: "gt", value: 10 }),
				"web",
				order,
			),
		).toBeUndefined();
		expect(
			filterVerdict(
				where({ path: "properties.revenue", op: "lte", value: 10 }),
				"web",
				order,
			),
		).toBe("condition on 'properties.revenue' (lte) fails");
		expect(
			filterVerdict(
				where({ path: "properties.currency", op: "in", value: ["EUR", "USD"] }),
				"web",
				order,
			),
		).toBeUndefined();
		expect(
			filterVerdict(
				where({ path: "properties.currency", op: "nin", value: ["EUR"] }),
				"web",
				order,
			),
		).toBeDefined();
		expect(
			filterVerdict(
				where({ path: "traits.plan", op: "eq", value: "pro" }),
				"web",
				identify,
			),
		).toBeUndefined();
		expect(
			filterVerdict(
				where({ path: "traits.plan", op: "ne", value: "pro" }),
				"web",
				identify,
			),
		).toBeDefined();
		expect(
			filterVerdict(
				where({ path: "properties.coupon", op: "missing" }),
				"web",
				order,
			),
		).toBeUndefined();
		expect(
			filterVerdict(
				where({ path: "properties.coupon", op: "exists" }),
				"web",
				order,
			),
		).toBeDefined();
		// A number is never "greater" than a string: mismatched types do not match.
		expect(
			filterVerdict(
				where({ path: "properties.revenue", op: "gt", value: "10" }),
				"web",
				order,
			),
		).toBeDefined();
	});
});
