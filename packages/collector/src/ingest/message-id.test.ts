import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { messageIdFor } from "./message-id";

describe("messageIdFor", () => {
	const event = {
		type: "track" as const,
		event: "A",
		userId: "u",
		timestamp: "2026-11-01T08:00:00.000Z",
	};

	it("derives a stable ULID from the source, the event and its timestamp", async () => {
		const first = await messageIdFor("web", event, Date.now());
		expect(isValid(first)).toBe(true);
		expect(decodeTime(first)).toBe(Date.parse(event.timestamp));
		expect(await messageIdFor("web", { ...event }, Date.now() + 5000)).toBe(
			first,
		);
		expect(await messageIdFor("app", event, Date.now())).not.toBe(first);
		expect(
			await messageIdFor("web", { ...event, event: "B" }, Date.now()),
		).not.toBe(first);
	});

	it("falls back to a fresh ULID at the receive time when there is no timestamp", async () => {
		const now = Date.parse("2026-11-02T00:00:00.000Z");
		const a = await messageIdFor(
			"web",
			{ type: "page", anonymousId: "a" },
			now,
		);
		const b = await messageIdFor(
			"web",
			{ type: "page", anonymousId: "a" },
			now,
		);
		expect(decodeTime(a)).toBe(now);
		expect(a).not.toBe(b);
	});

	it("never throws for a time a ULID cannot hold: it is clamped, and stays stable", async () => {
		// ulid() reads a time of 0 as "now": the earliest time used is 1 ms.
		for (const [timestamp, time] of [
			["1969-12-31T23:59:59Z", 1],
			["1970-01-01T00:00:00Z", 1],
			["0000-01-01T00:00:00Z", 1],
			["9999-12-31T23:59:59Z", Date.parse("9999-12-31T23:59:59Z")],
		] as const) {
			const id = await messageIdFor("web", { ...event, timestamp }, Date.now());
			expect(isValid(id)).toBe(true);
			expect(decodeTime(id)).toBe(time);
			expect(await messageIdFor("web", { ...event, timestamp }, 5)).toBe(id);
		}
	});
});
