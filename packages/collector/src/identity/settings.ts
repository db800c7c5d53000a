import * as v from "valibot";

/** The identifier types every event can carry; trait-based types are configured per source. */
export const USER_ID = "user_id";
export const ANONYMOUS_ID = "anonymous_id";

/**
 * Values that are never identifiers, compared trimmed and case-insensitively. They are what
 * broken clients send when they have no id (`String(null)`, a placeholder, a sentinel number);
 * treating them as ids would merge every such visitor into one profile.
 */
export const BUILT_IN_BLOCKED_VALUES: readonly string[] = [
	"",
	"null",
	"undefined",
	"0",
	"-1",
	"anonymous",
	"guest",
	"unknown",
];

const TypeName = v.pipe(
	v.string(),
	v.regex(
		/^[A-Za-z][A-Za-z0-9_]{0,63}$/,
		"must be 1–64 letters, digits or '_', starting with a letter",
	),
);

const TraitName = v.pipe(
	TypeName,
	v.check(
		(name) => name !== USER_ID && name !== ANONYMOUS_ID,
		"user_id and anonymous_id are built in, not traits",
	),
);

const Count = (min: number, max: number) =>
	v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

/**
 * A source's identity rules (`identity` in its config entry). Every field is optional and the
 * defaults are the safe ones: email as the only trait identifier, at most one user_id per
 * profile, the built-in blocked values, 255-character values, 30 days of suppression.
 *
 * @example
 * { "traitIdentifiers": ["email", "phone"], "blockedValues": ["test@example.com"],
 *   "maxPerProfile": { "user_id": 1, "email": 3 }, "suppressionDays": 90 }
 */
export const IdentitySettingsSchema = v.strictObject({
	/** Traits (of identify calls, or `context.traits`) that identify a person. Lower-cased and trimmed. */
	traitIdentifiers: v.optional(v.array(TraitName), ["email"]),
	/** Values that are never identifiers, added to the built-in list (which always applies). */
	blockedValues: v.optional(v.array(v.pipe(v.string(), v.maxLength(1000))), []),
	/**
	 * Most identities of a type one profile may hold, merged over `{ user_id: 1 }`. A merge or
	 * attachment that would exceed a limit is refused and recorded.
	 */
	maxPerProfile: v.optional(v.record(TypeName, Count(1, 1000)), {}),
	/** Longer values are ignored as identifiers (never truncated: truncation could merge people). */
	maxValueLength: v.optional(Count(1, 1000), 255),
	/** How long the identifiers of a deleted profile keep their events out (0: not at all). */
	suppressionDays: v.optional(Count(0, 365), 30),
});

export type IdentitySettingsInput = v.InferInput<typeof IdentitySettingsSchema>;

/** A source's identity rules, ready for use: lists turned into sets, defaults applied. */
export interface IdentitySettings {
	traitIdentifiers: readonly string[];
	/** Lower-cased. */
	blocked: ReadonlySet<string>;
	maxPerProfile: Readonly<Record<string, number>>;
	maxValueLength: number;
	suppressionDays: number;
}

const DEFAULT_LIMITS = { [USER_ID]: 1 };

/**
 * Turns a source's validated `identity` settings (or nothing, for a source that is no longer in
 * the config) into the rules the resolver applies.
 *
 * @example
 * const rules = identitySettings(source.identity);
 * rules.blocked.has("guest") // true
 * rules.maxPerProfile // { user_id: 1 }
 */
export function identitySettings(
	input: IdentitySettingsInput | undefined,
): IdentitySettings {
	const parsed = v.parse(IdentitySettingsSchema, input ?? {});
	const blocked = new Set(BUILT_IN_BLOCKED_VALUES);
	for (const value of parsed.blockedValues)
		blocked.add(value.trim().toLowerCase());
	return {
		traitIdentifiers: parsed.traitIdentifiers,
		blocked,
		maxPerProfile: { ...DEFAULT_LIMITS, ...parsed.maxPerProfile },
		maxValueLength: parsed.maxValueLength,
		suppressionDays: parsed.suppressionDays,
	};
}
