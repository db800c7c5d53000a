import type { WireEvent } from "@conduit/protocol";
import { ulid } from "ulid";
import { parseTimestamp } from "./timestamp";

/**
 * The times a ULID is made from: its 48-bit time part ends in year 10889, and `ulid()` takes a
 * time of 0 for "now", which would make the id of a 1970-01-01T00:00:00Z event change on retry.
 */
const ULID_MIN_TIME = 1;
const ULID_MAX_TIME = 2 ** 48 - 1;

/**
 * A messageId for an event that came without one: a ULID whose time part is the client's
 * timestamp and whose random part is drawn from a SHA-256 of the source and the event. A client
 * that retries the same event therefore gets the same id, so the retry is deduplicated like any
 * other. (An event without a timestamp has nothing stable to hash against; it gets a fresh ULID.)
 * Validation keeps client timestamps in 1970–9999; a time outside what a ULID can hold is
 * clamped to it all the same, so this never throws.
 *
 * @example
 * await messageIdFor("web", { type: "track", event: "A", userId: "u", timestamp: "2026-11-01T08:00:00Z" })
 * // "01JBG…" — the same string every time for this input
 */
export async function messageIdFor(
	sourceId: string,
	event: WireEvent,
	now: number,
): Promise<string> {
	const text = event.originalTimestamp ?? event.timestamp;
	const time = text === undefined ? undefined : parseTimestamp(text);
	if (time === undefined) return ulid(now);
	const data = new TextEncoder().encode(
		`${sourceId}\n${JSON.stringify(event)}`,
	);
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
	let next = 0;
	// ulid draws one value in [0, 1) per base32 character: feed it the digest's bytes.
	const fromDigest = () => (digest[next++ % digest.length] ?? 0) / 256;
	return ulid(
		Math.min(ULID_MAX_TIME, Math.max(ULID_MIN_TIME, time)),
		fromDigest,
	);
}
