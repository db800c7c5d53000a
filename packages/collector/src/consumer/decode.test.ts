import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode";

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

	it("reads a JSON object body", () => {
		const decoded = decodeMessage({
			sourceId: "app",
			events: [JSON.parse(event("m1"))],
		});
		expect(decoded.ok && decoded.message.events[0]?.json).toBe(event("m1"));
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
