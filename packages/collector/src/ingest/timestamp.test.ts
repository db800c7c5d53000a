import { describe, expect, it } from "vitest";
import { LIMITS } from "../limits";
import {
	clampToTimestampRange,
	inTimestampRange,
	parseTimestamp,
} from "./timestamp";

describe("parseTimestamp", () => {
	it.each([
		["2026-11-01T08:00:00Z", "2026-11-01T08:00:00.000Z"],
		["2026-11-01 08:00:00Z", "2026-11-01T08:00:00.000Z"],
		["2026-11-01T08:00:00.123456789Z", "2026-11-01T08:00:00.123Z"],
		["2026-11-01T08:00:00.5Z", "2026-11-01T08:00:00.500Z"],
		["2026-11-01T10:00:00+02:00", "2026-11-01T08:00:00.000Z"],
		["2026-11-01T13:30:00+0530", "2026-11-01T08:00:00.000Z"],
		// V8's Date.parse gives NaN for the next two, though both are ISO-8601.
		["2026-11-01T13:00:00+05", "2026-11-01T08:00:00.000Z"],
		["2026-11-01T13:00:00 +05:00", "2026-11-01T08:00:00.000Z"],
		["2026-11-01T07:00:00-01:00", "2026-11-01T08:00:00.000Z"],
		["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
		["0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"],
		["0070-01-01T00:00:00Z", "0070-01-01T00:00:00.000Z"],
		["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
	])("reads %s as %s", (text, iso) => {
		expect(new Date(parseTimestamp(text) as number).toISOString()).toBe(iso);
	});

	it.each([
		"2026-02-29T00:00:00Z",
		"2026-02-30T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-11-01T24:00:00Z",
		"2026-11-01T08:00:60Z",
		"2026-11-01T08:00:00+24:00",
		"2026-11-01T08:00:00",
		"+275760-09-13T00:00:00Z",
		"2026-11-01",
		"",
	])("refuses %j", (text) => {
		expect(parseTimestamp(text)).toBeUndefined();
	});
});

describe("the timestamp range", () => {
	it("runs from 1970 to the end of 9999, UTC", () => {
		expect(new Date(LIMITS.minTimestampMs).toISOString()).toBe(
			"1970-01-01T00:00:00.000Z",
		);
		expect(new Date(LIMITS.maxTimestampMs).toISOString()).toBe(
			"9999-12-31T23:59:59.999Z",
		);
		expect(inTimestampRange(-1)).toBe(false);
		expect(inTimestampRange(0)).toBe(true);
		expect(inTimestampRange(LIMITS.maxTimestampMs + 1)).toBe(false);
		expect(inTimestampRange(Number.NaN)).toBe(false);
	});

	it("clamps into the range", () => {
		expect(clampToTimestampRange(-1e15)).toBe(0);
		expect(clampToTimestampRange(8.64e15)).toBe(LIMITS.maxTimestampMs);
		expect(clampToTimestampRange(1234)).toBe(1234);
	});
});
