import { LIMITS } from "../limits";

/*
 * Client timestamps are read here, once, with one grammar: the ISO-8601 forms valibot's
 * `isoTimestamp` admits (a `T` or a space between date and time, up to nine fraction digits,
 * `Z` or an offset written `+05`, `+0530` or `+05:30`, with or without a space before it).
 * `Date.parse` is not used because V8 reads some of these forms and not others (`+05` gives NaN,
 * ` +05` does not) and rolls impossible dates over (`2026-02-30` becomes 2 March).
 */
const ISO =
	/^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z| ?([+-])(\d{2})(?::?(\d{2}))?)$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The instant an ISO-8601 timestamp names, in epoch milliseconds, or undefined when the text is
 * not one or names a day the calendar does not have (30 February). Fraction digits past the
 * millisecond are dropped, as `Date.parse` does.
 *
 * @example
 * parseTimestamp("2026-11-01T10:00:00+02:00") // 1793520000000 (2026-11-01T08:00:00.000Z)
 * parseTimestamp("2026-02-30T00:00:00Z")      // undefined
 */
export function parseTimestamp(text: string): number | undefined {
	const match = ISO.exec(text);
	if (!match) return undefined;
	const [, y, mo, d, h, mi, s, fraction, sign, offsetH, offsetM] = match;
	const year = Number(y);
	const month = Number(mo);
	const day = Number(d);
	const hour = Number(h);
	const minute = Number(mi);
	const second = Number(s);
	const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
	const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
	if (days === undefined || day < 1 || day > days) return undefined;
	const zoneHours = Number(offsetH ?? 0);
	const zoneMinutes = Number(offsetM ?? 0);
	if (hour > 23 || minute > 59 || second > 59) return undefined;
	if (zoneHours > 23 || zoneMinutes > 59) return undefined;
	const offset =
		(sign === "-" ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
	const millis = fraction
		? Number(
				fraction.length >= 3 ? fraction.slice(0, 3) : fraction.padEnd(3, "0"),
			)
		: 0;
	return utc(year, month - 1, day, hour, minute, second, millis) - offset;
}

/** Date.UTC, except that it reads the years 0–99 as written, not as 1900–1999. */
function utc(
	year: number,
	monthIndex: number,
	day: number,
	hour: number,
	minute: number,
	second: number,
	millis: number,
): number {
	if (year >= 100)
		return Date.UTC(year, monthIndex, day, hour, minute, second, millis);
	const date = new Date(0);
	date.setUTCFullYear(year, monthIndex, day);
	date.setUTCHours(hour, minute, second, millis);
	return date.getTime();
}

/**
 * Whether an instant lies in the range client timestamps may name (`LIMITS.minTimestampMs` to
 * `LIMITS.maxTimestampMs`: 1970 to the end of 9999, UTC).
 *
 * @example
 * inTimestampRange(Date.parse("1969-12-31T23:59:59Z")) // false
 */
export function inTimestampRange(ms: number): boolean {
	return ms >= LIMITS.minTimestampMs && ms <= LIMITS.maxTimestampMs;
}

/**
 * The nearest instant in the timestamp range: what the collector's own arithmetic (clock-skew
 * correction) may produce stays writable as a four-digit-year ISO string.
 *
 * @example
 * clampToTimestampRange(-5) // 0
 */
export function clampToTimestampRange(ms: number): number {
	return Math.min(LIMITS.maxTimestampMs, Math.max(LIMITS.minTimestampMs, ms));
}

/** The range as text, for error messages. */
export const TIMESTAMP_RANGE_TEXT = `${new Date(LIMITS.minTimestampMs).toISOString()} and ${new Date(LIMITS.maxTimestampMs).toISOString()}`;
