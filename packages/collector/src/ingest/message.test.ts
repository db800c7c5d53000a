import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../limits";
import { decodeMessage, malformedRows, pack } from "./message";

const event = (messageId: unknown) =>
	JSON.stringify({ type: "track", event: "A", userId: "u1", messageId });

describe("decodeMessage", () => {
	it("reads ingest's NDJSON, keeping each line's text as it came", () => {
		const line = event("m1");
		const decoded = decodeMessage(`{"sourceId":"web"}\n${line}`);
		expect(decoded).toEqual({
			ok: true,
			message: {
				sourceId: "web",
				events: [{ event: JSON.parse(line), json: line }],
				refused: [],
			},
		});
	});

	it("refuses a body that is not text: pack writes NDJSON only", () => {
		const body = { sourceId: "app", events: [JSON.parse(event("m1"))] };
		expect(decodeMessage(body)).toMatchObject({
			ok: false,
			sourceId: "",
			text: JSON.stringify(body),
			error: "the message is not NDJSON text",
		});
	});

	it("reads back what pack writes", () => {
		const lines = [event("m1"), event("m2")];
		const [body = ""] = pack("web", lines);
		const decoded = decodeMessage(body);
		expect(decoded.ok && decoded.message.sourceId).toBe("web");
		expect(decoded.ok && decoded.message.events.map((e) => e.json)).toEqual(
			lines,
		);
	});

	it("refuses lines one by one, keeping their neighbours", () => {
		const decoded = decodeMessage(
			[
				'{"sourceId":"web"}',
				event("m1"),
				"{not json",
				"[1,2]",
				JSON.stringify({ type: "track", userId: "u2" }),
				event("lone-\ud800"),
				event("m2"),
			].join("\n"),
		);
		if (!decoded.ok) throw new Error("expected a message");
		expect(decoded.message.events.map((e) => e.event.messageId)).toEqual([
			"m1",
			"m2",
		]);
		expect(decoded.message.refused.map((r) => r.error)).toEqual([
			expect.stringContaining("not JSON"),
			"an event must be a JSON object",
			"the event has no messageId",
			expect.stringContaining("not well-formed Unicode"),
		]);
		expect(decoded.message.refused[2]).toMatchObject({ userId: "u2" });
	});

	it("keeps a body without a readable source whole, as text", () => {
		expect(decodeMessage("{oops")).toMatchObject({
			ok: false,
			sourceId: "",
			text: "{oops",
		});
		expect(decodeMessage({ nothing: "here" })).toMatchObject({
			ok: false,
			text: '{"nothing":"here"}',
		});
		expect(decodeMessage('{"sourceId":7}\n{}')).toMatchObject({ ok: false });
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

describe("malformedRows", () => {
	it("parks a body without a source whole, and else each refused line with its ids", () => {
		expect(malformedRows(decodeMessage("{oops"))).toEqual([
			expect.objectContaining({
				kind: "event",
				sourceId: "",
				reason: "malformed",
				payload: "{oops",
			}),
		]);
		const body = ['{"sourceId":"web"}', event("m1"), event(""), "[1]"].join(
			"\n",
		);
		const rows = malformedRows(decodeMessage(body));
		expect(rows).toHaveLength(2);
		expect(rows[0]).toMatchObject({
			sourceId: "web",
			userId: "u1",
			reason: "malformed",
			error: "the event has no messageId",
			payload: event(""),
		});
		expect(rows[1]).toMatchObject({ payload: "[1]", reason: "malformed" });
	});
});
