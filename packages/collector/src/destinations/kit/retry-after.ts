import { retryAfterMs } from "@conduit/protocol";

/**
 * Seconds a destination's `Retry-After` header asks to wait, rounded up (Queues delay by whole
 * seconds), or undefined when there is none or it cannot be read. The reading itself is the
 * one rule the SDK shares (@conduit/protocol `retryAfterMs`, RFC 9110 §10.2.3).
 *
 * @example
 * retryAfterSeconds("120") // 120
 * retryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT", Date.parse("2026-10-21T07:27:00Z")) // 60
 */
export function retryAfterSeconds(
	header: string | null | undefined,
	now: number = Date.now(),
): number | undefined {
	const ms = retryAfterMs(header, now);
	return ms === undefined ? undefined : Math.ceil(ms / 1000);
}
