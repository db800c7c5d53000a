import * as v from "valibot";

/**
 * The id of a source or destination: short, lower-case, safe in URLs, logs and KV keys.
 *
 * @example
 * v.parse(ConfigIdSchema, "web") // "web"
 */
export const ConfigIdSchema = v.pipe(
	v.string(),
	v.regex(
		/^[a-z0-9][a-z0-9_-]{0,63}$/,
		"must be 1–64 lower-case letters, digits, '_' or '-'",
	),
);
