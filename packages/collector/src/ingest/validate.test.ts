import { describe, expect, it } from "vitest";
import { validateEvent } from "./validate";

const base = { anonymousId: "anon_1" };
const errorOf = (input: unknown) => {
	const result = validateEvent(input);
	return result.ok ? undefined : result.error;
};

describe("validateEvent", () => {
	it.each([
		["track", { type: "track", event: "Order Completed", ...base }],
		[
			"identify",
			{ type: "identify", userId: "u1", traits: { email: "a@b.c" } },
		],
		["page", { type: "page", name: "Home", category: "Docs", ...base }],
		["screen", { type: "screen", name: "Home", ...base }],
		["group", { type: "group", groupId: "org_1", ...base }],
		["alias", { type: "alias", previousId: "anon_1", userId: "u1" }],
	])("accepts a minimal %s", (_type, event) => {
		expect(validateEvent(event)).toEqual({ ok: true, event });
	});

	it("requires a known type", () => {
		expect(errorOf({ ...base })).toBe(
			"type: must be one of track, identify, page, screen, group, alias",
		);
		expect(errorOf({ type: "click", ...base })).toBe(
			"type: must be one of track, identify, page, screen, group, alias",
		);
	});

	it("requires userId or anonymousId, and treats null and empty as absent", () => {
		expect(errorOf({ type: "identify" })).toBe(
			"userId or anonymousId is required",
		);
		expect(errorOf({ type: "identify", userId: null, anonymousId: "" })).toBe(
			"userId or anonymousId is required",
		);
		expect(errorOf({ type: "identify", userId: "  ", anonymousId: "\t" })).toBe(
			"userId or anonymousId is required",
		);
		const result = validateEvent({
			type: "identify",
			userId: null,
			anonymousId: "a",
		});
		expect(result.ok && "userId" in result.event).toBe(false);
	});

	it("requires the event name for track, groupId for group and previousId for alias", () => {
		expect(errorOf({ type: "track", ...base })).toBe(
			"event: is required for track",
		);
		expect(errorOf({ type: "track", event: "", ...base })).toBe(
			"event: must not be empty",
		);
		expect(errorOf({ type: "track", event: 5, ...base })).toBe(
			"event: must be a string",
		);
		expect(errorOf({ type: "group", ...base })).toBe(
			"groupId: is required for group",
		);
		expect(errorOf({ type: "alias", userId: "u" })).toBe(
			"previousId: is required for alias",
		);
	});

	it("requires objects for properties, traits, context and integrations", () => {
		for (const key of ["properties", "traits", "context", "integrations"]) {
			expect(errorOf({ type: "track", event: "x", ...base, [key]: [1] })).toBe(
				`${key}: must be an object`,
			);
			expect(errorOf({ type: "track", event: "x", ...base, [key]: "s" })).toBe(
				`${key}: must be an object`,
			);
		}
	});

	it("requires ISO-8601 timestamps with a time zone", () => {
		for (const key of ["timestamp", "sentAt", "originalTimestamp"]) {
			expect(
				validateEvent({
					type: "page",
					...base,
					[key]: "2026-11-01T08:01:08.400Z",
				}).ok,
			).toBe(true);
			expect(
				validateEvent({
					type: "page",
					...base,
					[key]: "2026-11-01T10:01:08+02:00",
				}).ok,
			).toBe(true);
			expect(errorOf({ type: "page", ...base, [key]: "yesterday" })).toMatch(
				new RegExp(`^${key}: must be an ISO-8601 timestamp`),
			);
			expect(
				errorOf({ type: "page", ...base, [key]: "2026-11-01 08:01" }),
			).toMatch(/ISO-8601/);
			expect(errorOf({ type: "page", ...base, [key]: 1730448068 })).toMatch(
				/ISO-8601/,
			);
		}
	});

	it("requires timestamps to name a real day between 1970 and 9999", () => {
		for (const key of ["timestamp", "sentAt", "originalTimestamp"]) {
			for (const ok of [
				"1970-01-01T00:00:00Z",
				"9999-12-31T23:59:59.999Z",
				"2026-11-01T13:00:00+05",
			])
				expect(validateEvent({ type: "page", ...base, [key]: ok }).ok).toBe(
					true,
				);
			for (const early of [
				"1969-12-31T23:59:59Z",
				"0000-01-01T00:00:00Z",
				"1970-01-01T00:30:00+01:00",
			])
				expect(errorOf({ type: "page", ...base, [key]: early })).toBe(
					`${key}: must be between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z`,
				);
			expect(
				errorOf({ type: "page", ...base, [key]: "9999-12-31T23:59:59-01:00" }),
			).toMatch(/must be between/);
			expect(
				errorOf({ type: "page", ...base, [key]: "2026-02-30T00:00:00Z" }),
			).toBe(`${key}: is not a valid date`);
		}
	});

	it("limits messageId to 100 characters and ids and names to their lengths", () => {
		expect(
			validateEvent({ type: "page", ...base, messageId: "m".repeat(100) }).ok,
		).toBe(true);
		expect(errorOf({ type: "page", ...base, messageId: "m".repeat(101) })).toBe(
			"messageId: must be at most 100 characters",
		);
		expect(errorOf({ type: "page", ...base, messageId: "" })).toBe(
			"messageId: must not be empty",
		);
		expect(errorOf({ type: "page", anonymousId: "a".repeat(256) })).toBe(
			"anonymousId: must be at most 255 characters",
		);
		expect(errorOf({ type: "track", event: "e".repeat(201), ...base })).toBe(
			"event: must be at most 200 characters",
		);
		expect(errorOf({ type: "page", name: "n".repeat(201), ...base })).toBe(
			"name: must be at most 200 characters",
		);
	});

	it("turns numeric ids into strings", () => {
		const result = validateEvent({ type: "group", groupId: 42, userId: 7 });
		expect(result).toEqual({
			ok: true,
			event: { type: "group", groupId: "42", userId: "7" },
		});
	});

	it("keeps unknown fields and drops the writeKey", () => {
		const result = validateEvent({
			type: "page",
			...base,
			channel: "server",
			writeKey: "secret",
		});
		expect(result).toEqual({
			ok: true,
			event: { type: "page", ...base, channel: "server" },
		});
	});

	it("rejects what is not an object", () => {
		expect(errorOf("track")).toBe("an event must be a JSON object");
		expect(errorOf(null)).toBe("an event must be a JSON object");
		expect(errorOf([{ type: "page" }])).toBe("an event must be a JSON object");
	});
});
