import { sha256 as digest, hex } from "../../hash";

export { batchKey } from "../../hash";

/*
 * Idempotency keys. Each is derived from the event's (sourceId, messageId) — the pair the
 * collector deduplicates on — so every redelivery, retry or replay of an event carries the same
 * key and the destination can drop the copy.
 */

/**
 * A 32-character hex key for APIs that limit the key's form: Mixpanel's `$insert_id` takes at
 * most 36 letters, digits or '-'; Amplitude's `insert_id` any string.
 *
 * @example
 * await insertId("web", "msg_6GRDAB6V6NPE8GA3CERV") // "5f0c…" (32 hex characters, always the same)
 */
export async function insertId(
	sourceId: string,
	messageId: string,
): Promise<string> {
	return hex((await digest(`${sourceId}\n${messageId}`)).slice(0, 16));
}

/**
 * A UUID (RFC 9562 version 8: custom, here name-based on SHA-256) for APIs that want one, such
 * as PostHog's event `uuid`.
 *
 * @example
 * await uuidFor("web", "msg_6GRDAB6V6NPE8GA3CERV") // "5f0c2d1e-…-8…-…"
 */
export async function uuidFor(
	sourceId: string,
	messageId: string,
): Promise<string> {
	const bytes = (await digest(`${sourceId}\n${messageId}`)).slice(0, 16);
	bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80; // version 8
	bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10
	const h = hex(bytes);
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
