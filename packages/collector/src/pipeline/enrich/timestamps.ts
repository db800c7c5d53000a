/** ISO-8601 as Date#toISOString writes it: such a value is already canonical. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Segment's clock-skew correction: a client whose clock is off stamps both `timestamp` and
 * `sentAt` with the same error, so `receivedAt − (sentAt − timestamp)` is when the event really
 * happened by the server's clock. The client's own value is kept as `originalTimestamp`.
 * Timestamps come out in canonical UTC form (`2026-11-01T09:00:00.000Z`).
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
	if (!original) return { timestamp: new Date(receivedAtMs).toISOString() };
	if (!event.sentAt) {
		const timestamp = CANONICAL.test(original)
			? original
			: new Date(Date.parse(original)).toISOString();
		return { timestamp, originalTimestamp: original };
	}
	const skew = Date.parse(event.sentAt) - Date.parse(original);
	if (Number.isNaN(skew))
		return {
			timestamp: new Date(Date.parse(original)).toISOString(),
			originalTimestamp: original,
		};
	return {
		timestamp: new Date(receivedAtMs - skew).toISOString(),
		originalTimestamp: original,
	};
}
