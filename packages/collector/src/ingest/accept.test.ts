import { describe, expect, it } from "vitest";
import { ApiError } from "../errors";
import { eventsOfBatch } from "./accept";

describe("eventsOfBatch", () => {
	it("applies batch context, integrations and sentAt, the event's own values winning", () => {
		const events = eventsOfBatch({
			sentAt: "2026-11-01T08:00:00.000Z",
			context: { library: { name: "analytics-node" }, locale: "en" },
			integrations: { All: true },
			batch: [
				{ type: "page", context: { locale: "de" } },
				{
					type: "page",
					sentAt: "2026-11-01T09:00:00.000Z",
					integrations: { All: false },
				},
			],
		});
		expect(events).toEqual([
			{
				type: "page",
				context: { locale: "de", library: { name: "analytics-node" } },
				integrations: { All: true },
				sentAt: "2026-11-01T08:00:00.000Z",
			},
			{
				type: "page",
				context: { library: { name: "analytics-node" }, locale: "en" },
				integrations: { All: false },
				sentAt: "2026-11-01T09:00:00.000Z",
			},
		]);
	});

	it("leaves an event's own context or integrations that is not an object for validation to refuse", () => {
		expect(
			eventsOfBatch({
				context: { locale: "en" },
				integrations: { All: true },
				batch: [{ type: "page", context: "x", integrations: 5 }],
			}),
		).toEqual([{ type: "page", context: "x", integrations: 5 }]);
	});

	it("requires an array of at most 2,500 events", () => {
		expect(() => eventsOfBatch({ batch: {} })).toThrow(ApiError);
		expect(() => eventsOfBatch({})).toThrow(
			"'batch' must be an array of events",
		);
		expect(eventsOfBatch({ batch: new Array(2500).fill({}) })).toHaveLength(
			2500,
		);
		expect(() => eventsOfBatch({ batch: new Array(2501).fill({}) })).toThrow(
			"at most 2500 events",
		);
	});
});
