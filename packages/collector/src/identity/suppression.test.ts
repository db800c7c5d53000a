import { describe, expect, it } from "vitest";
import { suppressionKey, suppressionVerdict } from "./suppression";

const user = { type: "user_id", value: "u1" };
const anon = { type: "anonymous_id", value: "a1" };
const now = new Date("2026-11-20T00:00:00Z");
const deletedAt = "2026-11-10T00:00:00.000Z"; // ten days before `now`

describe("suppressionKey", () => {
	it("is a SHA-256 of type and value, not the value", async () => {
		const key = await suppressionKey({
			type: "email",
			value: "ann@example.com",
		});
		expect(key).toMatch(/^[0-9a-f]{64}$/);
		expect(key).not.toContain("ann");
		expect(
			await suppressionKey({ type: "email", value: "ann@example.com" }),
		).toBe(key);
		expect(
			await suppressionKey({ type: "user_id", value: "ann@example.com" }),
		).not.toBe(key);
	});
});

describe("suppressionVerdict", () => {
	it("drops an event whose user_id is suppressed", () => {
		const verdict = suppressionVerdict(
			[user, anon],
			["ku", "ka"],
			new Map([["ku", deletedAt]]),
			30,
			now,
		);
		expect(verdict).toEqual({ drop: true, keys: ["ku"] });
	});

	it("drops an anonymous event carrying any suppressed identifier", () => {
		const verdict = suppressionVerdict(
			[anon],
			["ka"],
			new Map([["ka", deletedAt]]),
			30,
			now,
		);
		expect(verdict).toEqual({ drop: true, keys: ["ka"] });
	});

	it("keeps another user's event, without the suppressed identifier", () => {
		const verdict = suppressionVerdict(
			[user, anon],
			["ku", "ka"],
			new Map([["ka", deletedAt]]),
			30,
			now,
		);
		expect(verdict).toEqual({ drop: false, identifiers: [user] });
	});

	it("ends when the source's suppression time is over", () => {
		const suppressions = new Map([["ka", deletedAt]]);
		expect(suppressionVerdict([anon], ["ka"], suppressions, 9, now).drop).toBe(
			false,
		);
		expect(suppressionVerdict([anon], ["ka"], suppressions, 0, now).drop).toBe(
			false,
		);
		expect(suppressionVerdict([anon], ["ka"], suppressions, 11, now).drop).toBe(
			true,
		);
	});
});
