/**
 * Segment's clock-skew correction: a client whose clock is off stamps both `timestamp` and
 * `sentAt` with the same error, so `receivedAt − (sentAt − timestamp)` is when the event really
 * happened by the server's clock. The client's own value is kept as `originalTimestamp`.
 *
 * @example
 * correctTimestamps({ timestamp: "2026-11-01T10:00:00.000Z", sentAt: "2026-11-01T10:00:05.000Z" },
 *   new Date("2026-11-01T09:00:05.000Z"))
 * // { timestamp: "2026-11-01T09:00:00.000Z", originalTimestamp: "2026-11-01T10:00:00.000Z" }
 */
export function correctTimestamps(
	event: { timestamp?: string; originalTimestamp?: string; sentAt?: string },
	receivedAt: Date,
): { timestamp: string; originalTimestamp?: string } {
	const original = event.originalTimestamp ?? event.timestamp;
	if (!original) return { timestamp: receivedAt.toISOString() };
	const happened = Date.parse(original);
	const sent = event.sentAt ? Date.parse(event.sentAt) : Number.NaN;
	if (Number.isNaN(sent))
		return {
			timestamp: new Date(happened).toISOString(),
			originalTimestamp: original,
		};
	return {
		timestamp: new Date(receivedAt.getTime() - (sent - happened)).toISOString(),
		originalTimestamp: original,
	};
}
