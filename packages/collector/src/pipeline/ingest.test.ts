import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../errors";
import { LIMITS } from "../limits";
import { eventsOfBatch, mergeMissing, pack } from "./ingest";

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

describe("mergeMissing", () => {
	it("fills what is missing, recursively, and never copies unsafe keys", () => {
		const shared = JSON.parse(
			'{"app":{"version":"1","name":"x"},"__proto__":{"polluted":1},"locale":"de"}',
		);
		const merged = mergeMissing({ app: { name: "a" }, locale: null }, shared);
		expect(merged).toEqual({ app: { name: "a", version: "1" }, locale: null });
		expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
	});
});

describe("pack", () => {
	const event = (n: number, pad = 0) =>
		JSON.stringify({ type: "page", messageId: `m${n}`, pad: "x".repeat(pad) });

	it("writes NDJSON: a source header line, then one event per line", () => {
		const [message, ...rest] = pack("web", [event(1), event(2)]);
		expect(rest).toEqual([]);
		const [header, ...lines] = (message ?? "").split("\n");
		expect(JSON.parse(header ?? "")).toEqual({ sourceId: "web" });
		expect(lines.map((line) => JSON.parse(line).messageId)).toEqual([
			"m1",
			"m2",
		]);
	});

	it("puts at most 100 events in a message", () => {
		const messages = pack(
			"web",
			Array.from({ length: 250 }, (_, n) => event(n)),
		);
		expect(messages.map((m) => m.split("\n").length - 1)).toEqual([
			100, 100, 50,
		]);
	});

	it("keeps each message under 128 KB even in 3-byte characters", () => {
		const events = Array.from({ length: 12 }, (_, n) => event(n, 9_000));
		const messages = pack("web", events);
		expect(messages.length).toBeGreaterThan(1);
		for (const message of messages)
			expect(message.length * 3).toBeLessThan(128 * 1024);
		expect(messages.flatMap((m) => m.split("\n").slice(1))).toEqual(events);
	});

	it("never builds a message over Queues' limit from events within the enriched bound", () => {
		const encoder = new TextEncoder();
		const bytes = (text: string) => encoder.encode(text).byteLength;
		// One event: a JSON line of one repeated character (1 to 4 UTF-8 bytes, 1 or 2 UTF-16
		// units) as long as the bound allows or shorter.
		const eventLine = fc
			.record({
				char: fc.constantFrom("a", "é", "€", "😀"),
				share: fc.double({ min: 0, max: 1, noNaN: true }),
			})
			.map(({ char, share }) => {
				const room = LIMITS.maxEnrichedEventBytes - bytes('{"p":""}');
				const count = Math.floor((room / bytes(char)) * share);
				return JSON.stringify({ p: char.repeat(count) });
			});
		const longestSourceId = "s".repeat(64);
		fc.assert(
			fc.property(fc.array(eventLine, { maxLength: 120 }), (events) => {
				const messages = pack(longestSourceId, events);
				for (const message of messages) {
					expect(bytes(message)).toBeLessThanOrEqual(
						LIMITS.maxQueueMessageBytes,
					);
					expect(message.split("\n").length - 1).toBeLessThanOrEqual(
						LIMITS.eventsPerQueueMessage,
					);
				}
				expect(messages.flatMap((m) => m.split("\n").slice(1))).toEqual(events);
			}),
			{ numRuns: 150 },
		);
	});
});
