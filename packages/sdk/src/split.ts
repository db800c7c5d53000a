/**
 * Cuts `items` (in order) into runs whose sizes add up to at most `limit`, of at most `most`
 * items each. An item larger than `limit` on its own travels alone, so the server can reject it
 * without blocking the rest.
 *
 * @example
 * split([3, 3, 3], (n) => n, 7, 100) // [[3, 3], [3]]
 * split([9, 1], (n) => n, 7, 100) // [[9], [1]]
 * split([1, 1, 1], (n) => n, 7, 2) // [[1, 1], [1]]
 */
export function split<T>(
	items: readonly T[],
	size: (item: T) => number,
	limit: number,
	most: number,
): T[][] {
	const runs: T[][] = [];
	let run: T[] = [];
	let total = 0;
	for (const item of items) {
		const bytes = size(item);
		if (run.length && (total + bytes > limit || run.length >= most)) {
			runs.push(run);
			run = [];
			total = 0;
		}
		run.push(item);
		total += bytes;
	}
	if (run.length) runs.push(run);
	return runs;
}
