import { describe, expect, it } from "vitest";
import { LIMITS } from "../limits";
import { nestingIssue, storedForm, unicodeIssue } from "./storable";

/** `levels` nested objects (or arrays) around a leaf. */
function nested(levels: number, array = false): unknown {
	let value: unknown = 1;
	for (let i = 0; i < levels; i++) value = array ? [value] : { a: value };
	return value;
}

const track = (extra: Record<string, unknown>) => ({
	type: "track",
	event: "A",
	userId: "u",
	...extra,
});

/** unicodeIssue as ingest calls it, with the event's JSON text. */
const unicodeOf = (event: Record<string, unknown>) =>
	unicodeIssue(event, JSON.stringify(event));

describe("nestingIssue", () => {
	it("accepts events up to the depth limit, counting the event as level 1", () => {
		// The event is level 1, properties level 2: 30 more objects make 32.
		expect(
			nestingIssue(track({ properties: nested(LIMITS.maxDepth - 1) })),
		).toBeUndefined();
		expect(nestingIssue(track({ properties: nested(LIMITS.maxDepth) }))).toBe(
			`properties.a.a.a.…: nests deeper than ${LIMITS.maxDepth} levels`,
		);
		expect(
			nestingIssue(track({ properties: { list: nested(31, true) } })),
		).toBe(
			`properties.list.0.0.…: nests deeper than ${LIMITS.maxDepth} levels`,
		);
		expect(nestingIssue(track({ context: { a: nested(31) } }))).toBe(
			"context.a.a.a.…: nests deeper than 32 levels",
		);
	});

	it("refuses nesting far past SQLite's limit without overflowing the stack", () => {
		expect(
			nestingIssue(track({ properties: nested(200_000, true) })),
		).toContain("nests deeper");
	});
});

describe("unicodeIssue", () => {
	it("refuses unpaired surrogates in values and in keys, naming the field", () => {
		expect(unicodeOf(track({ messageId: "m\ud800" }))).toBe(
			"messageId: contains an unpaired UTF-16 surrogate; text must be valid Unicode",
		);
		expect(unicodeOf(track({ properties: { list: ["ok", "\udc00"] } }))).toBe(
			"properties.list.1: contains an unpaired UTF-16 surrogate; text must be valid Unicode",
		);
		expect(unicodeOf(track({ traits: { "k\udbff": 1 } }))).toMatch(
			/^traits\.k\ufffd: contains an unpaired/,
		);
	});

	it("accepts surrogate pairs, and text that only spells a \\u escape", () => {
		expect(unicodeOf(track({ properties: { emoji: "😀" } }))).toBeUndefined();
		expect(
			unicodeOf(track({ properties: { path: "C:\\ud800\\x" } })),
		).toBeUndefined();
	});

	it("accepts what D1 stores unchanged: NUL, control characters, odd keys, big numbers", () => {
		const event = track({
			properties: {
				nul: "a\u0000b",
				controls: "\u0001\u001f\u2028\ufeff\uffff",
				"": 1,
				"a.b": 2,
				$: 3,
				"[0]": 4,
				big: 1e308,
				negativeZero: -0,
				list: Array.from({ length: 5000 }, (_, i) => i),
			},
		});
		expect(nestingIssue(event)).toBeUndefined();
		expect(unicodeOf(event)).toBeUndefined();
	});
});

describe("storedForm", () => {
	it("applies every storage rule to an event queued again, before serialising it", () => {
		const fine = track({ properties: { a: 1 } });
		expect(storedForm(fine)).toEqual({ ok: true, json: JSON.stringify(fine) });
		expect(storedForm(track({ properties: nested(5000) }))).toMatchObject({
			ok: false,
			error: `properties.a.a.a.…: nests deeper than ${LIMITS.maxDepth} levels`,
		});
		expect(storedForm(track({ name: "\ud800" }))).toMatchObject({
			ok: false,
			error: expect.stringContaining("unpaired UTF-16 surrogate"),
		});
		const big = track({ properties: { text: "é".repeat(40_000) } });
		expect(storedForm(big)).toMatchObject({
			ok: false,
			error: expect.stringContaining(
				`the limit after enrichment is ${LIMITS.maxEnrichedEventBytes}`,
			),
		});
	});
});
