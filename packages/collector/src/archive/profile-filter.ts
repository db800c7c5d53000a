/*
 * A Bloom filter of the profile ids an R2 object of events holds, kept in the object's custom
 * metadata (`profiles`). The erasure index (archive-index.ts) names hour partitions, not objects,
 * so erasure and the profile view list a partition with its metadata (1,000 objects per list
 * call) and read only the objects whose filter may hold the person. A filter never answers "no"
 * for a profile it was built with; a false "maybe" costs one object read, never a wrong result.
 * An object without a filter (written before it existed, or by another writer) is always read.
 *
 * Size: about 10 bits per profile (1 % false positives with 7 probes), at most 2,048 bytes
 * (2,732 in base64), so it fits R2's 8,192 bytes of metadata beside the `owners` list. A batch
 * with more than about 1,600 profiles gets the largest filter and more false positives.
 */

/** The custom metadata key of the filter. */
export const PROFILES_METADATA = "profiles";

const PROBES = 7;
const MIN_BYTES = 8;
const MAX_BYTES = 2048;

/**
 * Builds the filter of some profile ids, as base64 text for R2 custom metadata.
 *
 * @example
 * await env.RECORDS.put(key, body, { customMetadata: { [PROFILES_METADATA]: profileFilter(["prof_1"]) } });
 */
export function profileFilter(profileIds: Iterable<string>): string {
	const ids = [...new Set(profileIds)];
	let bytes = MIN_BYTES;
	while (bytes < MAX_BYTES && bytes * 8 < ids.length * 10) bytes *= 2;
	const bits = new Uint8Array(bytes);
	for (const id of ids)
		for (const bit of probes(id, bytes * 8))
			bits[bit >> 3] = (bits[bit >> 3] as number) | (1 << (bit & 7));
	return btoa(String.fromCharCode(...bits));
}

/**
 * Whether an object whose metadata carries `filter` may hold events of any of `profileIds`:
 * false only when it certainly holds none. A missing or unreadable filter answers true.
 *
 * @example
 * mayHoldAny(object.customMetadata?.[PROFILES_METADATA], ["prof_1"]) // true: read the object
 */
export function mayHoldAny(
	filter: string | undefined,
	profileIds: Iterable<string>,
): boolean {
	if (filter === undefined) return true;
	let bits: Uint8Array;
	try {
		bits = Uint8Array.from(atob(filter), (c) => c.charCodeAt(0));
	} catch {
		return true; // not a filter this module wrote: read the object rather than guess
	}
	if (bits.length < MIN_BYTES || (bits.length & (bits.length - 1)) !== 0)
		return true;
	for (const id of profileIds)
		if (
			probes(id, bits.length * 8).every(
				(bit) => ((bits[bit >> 3] as number) & (1 << (bit & 7))) !== 0,
			)
		)
			return true;
	return false;
}

/** The bit positions of an id: double hashing over two 32-bit FNV-1a hashes. */
function probes(id: string, size: number): number[] {
	const h1 = fnv1a(id, 0x811c9dc5);
	const h2 = fnv1a(id, 0x01000193) | 1;
	return Array.from(
		{ length: PROBES },
		(_, i) => (((h1 + Math.imul(i, h2)) >>> 0) % size) >>> 0,
	);
}

function fnv1a(text: string, seed: number): number {
	let hash = seed >>> 0;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash;
}
