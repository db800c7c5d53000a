import { ulid } from "ulid";
import type { SegmentEvent } from "../types";

/**
 * A messageId for an event that came without one: a ULID whose time part is the client's
 * timestamp and whose random part is drawn from a SHA-256 of the source and the event. A client
 * that retries the same event therefore gets the same id, so the retry is deduplicated like any
 * other. (An event without a timestamp has nothing stable to hash against; it gets a fresh ULID.)
 *
 * @example
 * await messageIdFor("web", { type: "track", event: "A", userId: "u", timestamp: "2026-11-01T08:00:00Z" })
 * // "01JBG…" — the same string every time for this input
 */
export async function messageIdFor(
	sourceId: string,
	event: SegmentEvent,
	now: number,
): Promise<string> {
	const time = event.originalTimestamp ?? event.timestamp;
	if (!time) return ulid(now);
	const data = new TextEncoder().encode(
		`${sourceId}\n${JSON.stringify(event)}`,
	);
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
	let next = 0;
	// ulid draws one value in [0, 1) per base32 character: feed it the digest's bytes.
	const fromDigest = () => (digest[next++ % digest.length] ?? 0) / 256;
	return ulid(Date.parse(time), fromDigest);
}
