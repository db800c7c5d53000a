import { clampToTimestampRange, parseTimestamp } from "../timestamp";

/** ISO-8601 as Date#toISOString writes it: such a value is already canonical. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Segment's clock-skew correction: a client whose clock is off stamps both `timestamp` and
 * `sentAt` with the same error, so `receivedAt − (sentAt − timestamp)` is when the event really
 * happened by the server's clock. The client's own value is kept as `originalTimestamp`.
 * Timestamps come out in canonical UTC form (`2026-11-01T09:00:00.000Z`).
 *
 * Validation has put every client timestamp in 1970–9999 (see `LIMITS`); the corrected time is
 * clamped to that range too, so a wild skew (sent in 1970, happened in 9999) still gives a
 * four-digit-year timestamp and this never throws. A time in the future is kept as the client
 * sent it, as Segment does.
 *
 * @example
 * correctTimestamps({ timestamp: "2026-11-01T10:00:00.000Z", sentAt: "2026-11-01T10:00:05.000Z" },
 *   Date.parse("2026-11-01T09:00:05.000Z"))
 * // { timestamp: "2026-11-01T09:00:00.000Z", originalTimestamp: "2026-11-01T10:00:00.000Z" }
 */
export function correctTimestamps(
	event: { timestamp?: string; originalTimestamp?: string; sentAt?: string },
	receivedAtMs: number,
): { timestamp: string; originalTimestamp?: string } {
	const original = event.originalTimestamp ?? event.timestamp;
	// The common case, already validated (a real day in range) and canonical: nothing to compute.
	if (original !== undefined && !event.sentAt && CANONICAL.test(original))
		return { timestamp: original, originalTimestamp: original };
	const happened =
		original === undefined ? undefined : parseTimestamp(original);
	if (original === undefined || happened === undefined)
		return { timestamp: isoOf(receivedAtMs) };
	const sent =
		event.sentAt === undefined ? undefined : parseTimestamp(event.sentAt);
	const at = sent === undefined ? happened : receivedAtMs - (sent - happened);
	return { timestamp: isoOf(at), originalTimestamp: original };
}

function isoOf(ms: number): string {
	return new Date(clampToTimestampRange(ms)).toISOString();
}
