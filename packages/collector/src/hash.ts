/*
 * Hashes of event identities, shared by every layer that names something after events: the
 * deduplication window's keys (db/seen.ts), the events-of-record object names (records/key.ts)
 * and the destinations' idempotency keys (destinations/kit/idempotency.ts). SHA-256 throughout
 * (Web Crypto, the same in workerd and Node).
 */

const encoder = new TextEncoder();

/**
 * The SHA-256 of a text.
 *
 * @example
 * (await sha256("web\nm1")).length // 32
 */
export async function sha256(text: string): Promise<Uint8Array> {
	return new Uint8Array(
		await crypto.subtle.digest("SHA-256", encoder.encode(text)),
	);
}

/**
 * Bytes as lowercase hex.
 *
 * @example
 * hex(new Uint8Array([1, 255])) // "01ff"
 */
export function hex(bytes: Uint8Array): string {
	return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One key for a list of (source, messageId) pairs (a webhook's `webhook-id`, an object's name):
 * the same pairs in the same order always give the same key.
 *
 * @example
 * await batchKey("msg_", [["web", "m1"], ["web", "m2"]]) // "msg_3q9…"
 */
export async function batchKey(
	prefix: string,
	keys: readonly (readonly [string, string])[],
): Promise<string> {
	const text = keys.map(([s, m]) => `${s}\n${m}`).join("\n\n");
	return `${prefix}${hex((await sha256(text)).slice(0, 16))}`;
}

/**
 * The first 8 bytes of SHA-256(text) as a signed 64-bit integer, in decimal: a D1 INTEGER key.
 * Decimal text, because a JavaScript number holds only 53 bits exactly; SQLite reads the text
 * back as the very integer (`CAST(? AS INTEGER)`).
 *
 * @example
 * await hash64("web\nm1") // "-639845896319181009"
 */
export async function hash64(text: string): Promise<string> {
	const bytes = await sha256(text);
	return new DataView(bytes.buffer, bytes.byteOffset, 8)
		.getBigInt64(0)
		.toString();
}
