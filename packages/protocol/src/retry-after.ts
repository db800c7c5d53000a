const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/**
 * RFC 9110's three HTTP-date forms (§5.6.7), one alternative each: IMF-fixdate ("Sun, 06 Nov
 * 1994 08:49:37 GMT") and the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT"), groups
 * day, separator, month, year and time; then C's asctime ("Sun Nov  6 08:49:37 1994", also
 * GMT), groups month, day, time and year.
 */
const HTTP_DATE =
	/^[A-Z][a-z]{2,8}, (\d\d)([ -])([A-Z][a-z]{2})\2(\d\d(?:\d\d)?) ([\d:]{8}) GMT$|^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) ([\d:]{8}) (\d{4})$/;

/**
 * An HTTP-date as epoch milliseconds, or undefined when `text` is none of its three forms or
 * names a day or time that does not exist. Read field by field rather than with `Date.parse`,
 * which reads these forms differently across engines (V8 takes asctime, which is GMT, as local
 * time); only the time of day goes through it, as ISO 8601, which every engine reads alike.
 *
 * @param now the current time, epoch ms: RFC 850's two-digit years are read relative to it
 * @example
 * httpDate("Sun, 06 Nov 1994 08:49:37 GMT", Date.now()) // 784111777000
 * httpDate("1994-11-06T08:49:37Z", Date.now()) // undefined: ISO 8601 is not an HTTP-date
 */
export function httpDate(text: string, now: number): number | undefined {
	const m = HTTP_DATE.exec(text) || [];
	// An asctime match leaves the first alternative's groups undefined: its own stand in.
	const [, day = m[7], , month = "", yy = m[9] || "", time = m[8]] = m;
	let year = +yy;
	if (yy.length === 2) {
		// RFC 850's two-digit year: one more than 50 years ahead is in the past century.
		const current = new Date(now).getUTCFullYear();
		year += current - (current % 100);
		if (year > current + 50) year -= 100;
	}
	const index = MONTHS.indexOf(m[6] || month);
	const at =
		Date.UTC(year, index / 3, Number(day)) + Date.parse(`1970-01-01T${time}Z`);
	// Not a month name (-1, or a match across two names: "anF"); Date.UTC rolls "31 Feb" over
	// into March: a day that does not exist is no date. A bad time of day is NaN already, and
	// when nothing matched, every part is missing.
	if (!(index % 3) && new Date(at).getUTCDate() === Number(day)) return at;
}

/**
 * How long a `Retry-After` header value (RFC 9110 §10.2.3) asks the client to wait, in
 * milliseconds, or undefined when there is none or it cannot be read. The rules, for the SDK
 * and the collector alike:
 *
 * - surrounding whitespace is ignored;
 * - delay-seconds is one or more digits: `"120"` is 120,000 ms; a sign, a fraction or an
 *   exponent makes it unreadable;
 * - an HTTP-date is read in any of its three forms (IMF-fixdate, RFC 850, asctime) and counts
 *   from `now`; a date in the past means "no wait" (0); other date formats are unreadable;
 * - capping a long wait is the caller's business ({@link backoff}'s `maxWait`).
 *
 * @param now the current time, epoch ms
 * @example
 * retryAfterMs("120", Date.now()) // 120000
 * retryAfterMs("Wed, 21 Oct 2026 07:28:00 GMT", Date.parse("2026-10-21T07:27:00Z")) // 60000
 * retryAfterMs("soon", Date.now()) // undefined
 */
export function retryAfterMs(
	value: string | null | undefined,
	now: number,
): number | undefined {
	const text = value?.trim();
	if (!text) return;
	if (/^\d+$/.test(text)) return +text * 1000;
	const at = httpDate(text, now);
	if (at !== undefined) return Math.max(0, at - now);
}
