import { describe, expect, it } from "vitest";
import { httpDate, retryAfterMs } from "./retry-after";

const NOW = Date.parse("2026-10-21T07:27:00Z");

describe("retryAfterMs", () => {
	it("reads delay-seconds, whitespace around it ignored", () => {
		expect(retryAfterMs("120", NOW)).toBe(120_000);
		expect(retryAfterMs(" 0 ", NOW)).toBe(0);
		expect(retryAfterMs("2", 0)).toBe(2000);
	});

	it("reads an HTTP-date in each of RFC 9110's three forms, relative to now", () => {
		expect(retryAfterMs("Wed, 21 Oct 2026 07:28:00 GMT", NOW)).toBe(60_000);
		expect(retryAfterMs("Wednesday, 21-Oct-26 07:28:30 GMT", NOW)).toBe(90_000);
		expect(retryAfterMs("Wed Oct 21 07:29:00 2026", NOW)).toBe(120_000);
		expect(retryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 1000)).toBe(4000);
	});

	it("treats a date in the past as no wait", () => {
		expect(retryAfterMs("Wed, 21 Oct 2026 07:00:00 GMT", NOW)).toBe(0);
		expect(retryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 9000)).toBe(0);
	});

	it("answers undefined for what is absent or unreadable", () => {
		for (const value of [
			null,
			undefined,
			"",
			"  ",
			"soon",
			"-5",
			"-3",
			"+5",
			"1.5",
			"1e3",
			"2026-10-21T07:28:00Z",
			"Wed, 21 Oct 2026 07:28:00 CET",
			"Wed, 21 Oct 2026 07:28:00",
		])
			expect(retryAfterMs(value, NOW), `${value}`).toBeUndefined();
	});
});

describe("httpDate", () => {
	it("reads asctime as GMT, whatever the machine's time zone", () => {
		expect(httpDate("Sun Nov  6 08:49:37 1994", NOW)).toBe(
			Date.parse("1994-11-06T08:49:37Z"),
		);
		expect(httpDate("Sun, 06 Nov 1994 08:49:37 GMT", NOW)).toBe(
			Date.parse("1994-11-06T08:49:37Z"),
		);
	});

	it("puts an RFC 850 two-digit year in the latest century that is not 50 years ahead", () => {
		expect(httpDate("Sunday, 06-Nov-94 08:49:37 GMT", NOW)).toBe(
			Date.parse("1994-11-06T08:49:37Z"),
		);
		expect(httpDate("Friday, 06-Nov-76 08:49:37 GMT", NOW)).toBe(
			Date.parse("2076-11-06T08:49:37Z"),
		);
		expect(httpDate("Friday, 06-Nov-77 08:49:37 GMT", NOW)).toBe(
			Date.parse("1977-11-06T08:49:37Z"),
		);
	});

	it("refuses days and months that do not exist, and mixed forms", () => {
		expect(httpDate("Sun, 31 Feb 1994 08:49:37 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun, 06 Foo 1994 08:49:37 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun, 06 anF 1994 08:49:37 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun, 06 Nov-1994 08:49:37 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun Nov  6 08:49:37 1994 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun, 06 Nov 1994 24:49:37 GMT", NOW)).toBeUndefined();
		expect(httpDate("Sun, 06 Nov 1994 8:49:37:1 GMT", NOW)).toBeUndefined();
	});
});
