import * as v from "valibot";

/**
 * Settings of an `r2` destination: an archive in the ARCHIVE bucket.
 *
 * @example
 * { "prefix": "archive/web/" }
 */
export const R2SettingsSchema = v.strictObject({
	/** Key prefix inside the bucket, e.g. one per environment. */
	prefix: v.optional(
		v.pipe(
			v.string(),
			v.regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or end with '/'"),
		),
		"events/",
	),
});
export type R2Settings = v.InferOutput<typeof R2SettingsSchema>;
