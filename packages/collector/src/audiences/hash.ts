/**
 * FNV-1a, 32 bits, as 8 hex digits: a short stable id for a text (a hidden aggregate's
 * definition, an event's key in a profile's recent list). Not for anything secret.
 *
 * @example
 * shortHash("Product Added") // "…8 hex digits…", the same every time
 */
export function shortHash(text: string, seed = 0x811c9dc5): string {
	let h = seed;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, "0");
}
