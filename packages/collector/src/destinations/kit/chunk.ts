/**
 * Splits items into runs of at most `maxItems` items and `maxBytes` bytes (as measured by
 * `sizeOf`), keeping their order. An item larger than `maxBytes` on its own gets a chunk of its
 * own: the destination's answer (413) then decides its fate.
 *
 * @example
 * chunk([1, 2, 3, 4, 5], { maxItems: 2, maxBytes: Infinity, sizeOf: () => 1 }) // [[1, 2], [3, 4], [5]]
 */
export function chunk<T>(
	items: readonly T[],
	limits: { maxItems: number; maxBytes: number; sizeOf: (item: T) => number },
): T[][] {
	const chunks: T[][] = [];
	let current: T[] = [];
	let bytes = 0;
	for (const item of items) {
		const size = limits.sizeOf(item);
		if (
			current.length > 0 &&
			(current.length >= limits.maxItems || bytes + size > limits.maxBytes)
		) {
			chunks.push(current);
			current = [];
			bytes = 0;
		}
		current.push(item);
		bytes += size;
	}
	if (current.length > 0) chunks.push(current);
	return chunks;
}

const encoder = new TextEncoder();

/**
 * UTF-8 size of a value serialised as JSON.
 *
 * @example
 * jsonBytes({ a: "é" }) // 10
 */
export function jsonBytes(value: unknown): number {
	return encoder.encode(JSON.stringify(value)).byteLength;
}
