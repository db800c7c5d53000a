import { describe, expect, it } from "vitest";
import type { DeliveryItem } from "../destinations/types";
import { eventMessages, itemsOf } from "./messages";

const item = (id: number, bytes = 10): DeliveryItem => ({
	sourceId: "web",
	event: {
		type: "track",
		event: "E",
		messageId: `m${id}`,
		timestamp: "t",
		receivedAt: "t",
		context: {},
		properties: { pad: "x".repeat(bytes) },
	},
});

describe("eventMessages", () => {
	it("cuts one destination's events by batch size", () => {
		const messages = eventMessages("hooks", [item(1), item(2), item(3)], 2);
		expect(
			messages.map((m) => (m.kind === "events" ? m.items.length : 0)),
		).toEqual([2, 1]);
		expect(messages.every((m) => m.destinationId === "hooks")).toBe(true);
	});

	it("keeps each message under the queue's 128 KB message limit", () => {
		const big = Array.from({ length: 10 }, (_, i) => item(i, 30 * 1024));
		const messages = eventMessages("hooks", big, 100);
		for (const message of messages)
			expect(
				new TextEncoder().encode(JSON.stringify(message)).byteLength,
			).toBeLessThan(128 * 1024);
		expect(
			messages.flatMap((m) => (m.kind === "events" ? m.items : [])),
		).toHaveLength(10);
	});
});

describe("itemsOf", () => {
	it("carries a deletion as one pseudo-event keyed by the deletion id", () => {
		const deletion = {
			id: 7,
			profileId: "p",
			identities: [],
			requestedAt: "2026-11-20T10:00:00.000Z",
		};
		expect(
			itemsOf({ kind: "deletion", destinationId: "hooks", deletion }),
		).toEqual([
			{
				sourceId: "",
				event: expect.objectContaining({
					messageId: "deletion:7",
					timestamp: deletion.requestedAt,
					context: { profileId: "p" },
				}),
			},
		]);
	});
});
