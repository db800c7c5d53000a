import * as v from "valibot";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The longest window or delay a definition may name: a year (daily buckets stay bounded). */
export const MAX_DURATION_MS = 366 * UNIT_MS.d;

/**
 * A duration as config documents write it: a whole number and a unit, `15m`, `24h` or `30d`.
 *
 * @example
 * v.parse(DurationSchema, "7d") // "7d"
 */
export const DurationSchema = v.pipe(
	v.string(),
	v.regex(
		/^[1-9][0-9]{0,5}[mhd]$/,
		"must be a whole number and a unit: m (minutes), h (hours) or d (days), such as 30d",
	),
	v.check(
		// A text the regex refused has no length (NaN): only its own message is shown.
		(text) => !(durationMs(text) > MAX_DURATION_MS),
		"must be at most 366 days",
	),
);

/**
 * Milliseconds in a duration written as {@link DurationSchema} allows.
 *
 * @example
 * durationMs("24h") // 86_400_000
 */
export function durationMs(text: string): number {
	const unit = text.slice(-1) as keyof typeof UNIT_MS;
	return Number(text.slice(0, -1)) * (UNIT_MS[unit] ?? Number.NaN);
}
