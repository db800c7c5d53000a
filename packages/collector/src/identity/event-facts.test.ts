import { describe, expect, it } from "vitest";
import {
	CLOCK_ALLOWANCE_MS,
	groupOf,
	orderingTime,
	traitRows,
} from "./event-facts";

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

describe("orderingTime", () => {
	const receivedAt = "2026-11-01T09:00:00.000Z";

	it("keeps a timestamp at or before arrival", () => {
		expect(
			orderingTime({ timestamp: "2026-11-01T08:00:00.000Z", receivedAt }),
		).toBe("2026-11-01T08:00:00.000Z");
	});

	it("keeps a timestamp within the allowance after arrival", () => {
		expect(
			orderingTime({ timestamp: "2026-11-01T09:00:04.000Z", receivedAt }),
		).toBe("2026-11-01T09:00:04.000Z");
	});

	it("clamps a future timestamp to arrival plus the allowance", () => {
		const latest = new Date(
			Date.parse(receivedAt) + CLOCK_ALLOWANCE_MS,
		).toISOString();
		expect(
			orderingTime({ timestamp: "9999-12-31T23:59:59Z", receivedAt }),
		).toBe(latest);
		expect(
			orderingTime({ timestamp: "+275760-09-13T00:00:00.000Z", receivedAt }),
		).toBe(latest);
	});

	it("takes arrival for a timestamp that does not parse", () => {
		expect(orderingTime({ timestamp: "soon", receivedAt })).toBe(receivedAt);
	});

	it("writes canonical UTC, so times compare as strings", () => {
		expect(
			orderingTime({ timestamp: "2026-11-01T10:00:00+02:00", receivedAt }),
		).toBe("2026-11-01T08:00:00.000Z");
	});
});
