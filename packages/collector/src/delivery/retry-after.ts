/**
 * Seconds a `Retry-After` header asks to wait (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), or undefined when there is none or it cannot be read.
 *
 * @example
 * retryAfterSeconds("120") // 120
 * retryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT", Date.parse("2026-10-21T07:27:00Z")) // 60
 */
export function retryAfterSeconds(
	header: string | null | undefined,
	now: number = Date.now(),
): number | undefined {
	if (!header) return undefined;
	const text = header.trim();
	if (/^\d+$/.test(text)) return Number(text);
	// An HTTP-date names its weekday and month; a bare or signed number is not one.
	if (!/[A-Za-z]/.test(text)) return undefined;
	const at = Date.parse(text);
	if (Number.isNaN(at)) return undefined;
	return Math.max(0, Math.ceil((at - now) / 1000));
}
