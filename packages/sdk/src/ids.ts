/** Crockford's base32, the ULID alphabet (no I, L, O, U). */
const B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A ULID (github.com/ulid/spec): the time in 10 base32 characters (48 bits of milliseconds),
 * then 16 random ones (80 bits). Written here rather than taken from the `ulid` package, whose
 * error classes and decoders are most of its 1.7 KB in the script-tag build.
 *
 * @param random a number in [0, 1) per call; ids need to be unique, not secret
 * @example
 * ulid(Date.now(), Math.random) // "01JD3X5Q0B8Z6S4V2T7R9M1K0N"
 */
export function ulid(time: number, random: () => number): string {
	let id = "";
	for (let i = 0; i < 10; i++, time = Math.floor(time / 32))
		id = B32[time % 32] + id;
	for (let i = 0; i < 16; i++) id += B32[(random() * 32) | 0];
	return id;
}

/**
 * A source of ids that strictly increase within the tab, so the ids, and the store keyed by
 * them, sort in call order: a burst within one millisecond takes the next milliseconds for its
 * ids' time part. Math.random, not crypto.getRandomValues: one crypto call per character was
 * most of track()'s cost, and 80 random bits per millisecond keep tabs and devices apart.
 *
 * @example
 * const id = ids(Date.now, Math.random);
 * id() < id() // true
 */
export function ids(now: () => number, random: () => number): () => string {
	let last = 0;
	return () => {
		last = Math.max(now(), last + 1);
		return ulid(last, random);
	};
}
