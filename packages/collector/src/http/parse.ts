import * as v from "valibot";
import { ApiError } from "../errors";

/**
 * A whole number given as text (a query parameter or a path segment), between `min` and `max`.
 * At most 15 digits, so the text never becomes an unsafe integer before the range is checked.
 *
 * @example
 * const Query = v.strictObject({ limit: v.optional(Count(1, 200), "50") });
 */
export const Count = (min: number, max: number) =>
	v.pipe(
		v.string(),
		v.regex(/^\d{1,15}$/, "must be a whole number"),
		v.transform(Number),
		v.minValue(min, `must be at least ${min}`),
		v.maxValue(max, `must be at most ${max}`),
	);

/**
 * Parses a request's input or throws a 400 `invalid_request` naming each field at fault; an
 * issue without a path (the whole input, or a single value) is named `name`.
 *
 * @example
 * const query = parse(ListQuerySchema, c.req.query(), "query");
 * const id = parse(Count(1, Number.MAX_SAFE_INTEGER), c.req.param("id"), "id");
 */
export function parse<S extends v.GenericSchema>(
	schema: S,
	input: unknown,
	name = "body",
): v.InferOutput<S> {
	const parsed = v.safeParse(schema, input);
	if (parsed.success) return parsed.output;
	throw new ApiError(
		400,
		"invalid_request",
		parsed.issues
			.map((i) => `${v.getDotPath(i) ?? name}: ${i.message}`)
			.join("; "),
	);
}
