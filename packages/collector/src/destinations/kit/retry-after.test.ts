import { describe, expect, it } from "vitest";
import { retryAfterSeconds } from "./retry-after";

describe("retryAfterSeconds", () => {
	it("reads delay-seconds", () => {
		expect(retryAfterSeconds("120")).toBe(120);
		expect(retryAfterSeconds(" 0 ")).toBe(0);
	});

	it("reads an HTTP-date relative to now, never negative", () => {
		const now = Date.parse("2026-10-21T07:27:00Z");
		expect(retryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT", now)).toBe(60);
		expect(retryAfterSeconds("Wed, 21 Oct 2026 07:00:00 GMT", now)).toBe(0);
	});

	it("ignores what it cannot read", () => {
		expect(retryAfterSeconds(null)).toBeUndefined();
		expect(retryAfterSeconds("")).toBeUndefined();
		expect(retryAfterSeconds("soon")).toBeUndefined();
		expect(retryAfterSeconds("-5")).toBeUndefined();
	});
});
