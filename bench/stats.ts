/**
 * The `p`th percentile of ascending `sorted` values, by nearest rank (the smallest value with at
 * least p % of the values at or below it); NaN when there are none.
 *
 * @example
 * percentile([10, 20, 30, 40], 50) // 20
 * percentile([10, 20, 30, 40], 99) // 40
 */
export function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[
		Math.max(
			0,
			Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1),
		)
	] as number;
}
