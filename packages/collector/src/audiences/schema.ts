import * as v from "valibot";
import { ConditionSchema } from "../routing/filters";
import { DurationSchema } from "./duration";

/*
 * The `audiences` section of the config document: computed traits, and audiences defined by
 * conditions over a profile. Conditions extend the destinations' `filters.where` language
 * (routing/filters.ts): the same `{ path, op, value }` objects, read from a profile instead of
 * an event, plus event occurrence, a trigger (an event not followed by another), `any` and `not`.
 */

/** A computed trait's or an audience's key: it becomes a trait name (`<key>: true`). */
export const TraitKeySchema = v.pipe(
	v.string(),
	v.regex(
		/^[a-z][a-z0-9_]{0,63}$/,
		"must be 1–64 lower-case letters, digits or '_', starting with a letter",
	),
);

const EventNameSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(200));

/** The aggregates a computed trait may keep. */
export const AGGREGATES = [
	"count",
	"sum",
	"min",
	"max",
	"first",
	"last",
	"unique",
	"mostFrequent",
] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** Dot paths into the event, the first that holds a value counts (`properties.revenue`). */
const PropertySchema = v.union(
	[
		v.pipe(v.string(), v.minLength(1)),
		v.pipe(
			v.array(v.pipe(v.string(), v.minLength(1))),
			v.minLength(1),
			v.maxLength(5),
		),
	],
	"must be a dot path such as properties.revenue, or a list of up to 5 of them",
);

/**
 * A computed trait: per profile, an aggregate over the `track` events of one name (and the
 * `where` conditions on them), optionally within a rolling window.
 *
 * @example
 * { "key": "lifetime_value", "event": "Order Completed", "aggregate": "sum",
 *   "property": ["properties.revenue", "properties.total", "properties.value"] }
 */
export const ComputedTraitSchema = v.pipe(
	v.strictObject({
		key: TraitKeySchema,
		event: EventNameSchema,
		where: v.optional(v.array(ConditionSchema)),
		aggregate: v.picklist(AGGREGATES),
		property: v.optional(PropertySchema),
		window: v.optional(DurationSchema),
	}),
	v.check(
		(t) => t.aggregate === "count" || t.property !== undefined,
		"needs a 'property' for this aggregate (only 'count' goes without)",
	),
);
export type ComputedTrait = v.InferOutput<typeof ComputedTraitSchema>;

/**
 * The lifetime value: what every profile keeps with no config, the sum of `revenue` (else
 * `total`, else `value`: the first that is a number or a numeric string) of the e-commerce
 * spec's `Order Completed`. Currencies are not converted: sources are expected to report in one
 * currency. A configured computed trait of the same key replaces it.
 *
 * @example
 * LIFETIME_VALUE.aggregate // "sum"
 */
export const LIFETIME_VALUE: ComputedTrait = {
	key: "lifetime_value",
	event: "Order Completed",
	aggregate: "sum",
	property: ["properties.revenue", "properties.total", "properties.value"],
};

/**
 * The computed traits every profile has, whatever the config (a configured trait of the same
 * key replaces one): conditions may read them without defining them.
 *
 * @example
 * BUILT_IN_TRAITS.map((t) => t.key) // ["lifetime_value"]
 */
export const BUILT_IN_TRAITS: readonly ComputedTrait[] = [LIFETIME_VALUE];

/** Where a profile condition may read: identify traits, any group's traits, computed traits, consent. */
export const PROFILE_ROOTS = [
	"traits",
	"group",
	"computed",
	"consent",
] as const;

const ProfileConditionSchema = v.pipe(
	ConditionSchema,
	v.check(
		(c) => PROFILE_ROOTS.some((root) => c.path.startsWith(`${root}.`)),
		"path must start with traits., group., computed. or consent.",
	),
);
export type ProfileCondition = v.InferOutput<typeof ProfileConditionSchema>;

const COUNT_OPS = ["eq", "ne", "gt", "gte", "lt", "lte"] as const;

/**
 * Event occurrence: how many `event`s (matching `where`) the profile did, in the last `within`
 * or ever, compared with `value` (default: at least 1).
 *
 * @example
 * { "event": "Product Viewed", "where": [{ "path": "properties.category", "op": "eq", "value": "Games" }],
 *   "within": "7d", "op": "gte", "value": 3 }
 */
const EventConditionSchema = v.strictObject({
	event: EventNameSchema,
	where: v.optional(v.array(ConditionSchema)),
	within: v.optional(DurationSchema),
	op: v.optional(v.picklist(COUNT_OPS), "gte"),
	value: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 1),
});
export type EventCondition = v.InferOutput<typeof EventConditionSchema>;

/**
 * A trigger: the profile did `event` and then no `thenNot` for `within`; it holds from that
 * moment until `thenNot` happens, a new `event` starts the wait again, or `exitAfter` has passed
 * since the `event`.
 *
 * @example
 * { "trigger": { "event": "Product Added", "thenNot": "Order Completed", "within": "1h", "exitAfter": "7d" } }
 */
const TriggerConditionSchema = v.strictObject({
	trigger: v.pipe(
		v.strictObject({
			event: EventNameSchema,
			thenNot: EventNameSchema,
			within: DurationSchema,
			exitAfter: DurationSchema,
		}),
	),
});
export type TriggerCondition = v.InferOutput<typeof TriggerConditionSchema>;

export type AudienceCondition =
	| ProfileCondition
	| EventCondition
	| TriggerCondition
	| { any: AudienceCondition[] }
	| { not: AudienceCondition };

/** Nesting of `any`/`not` deeper than this is refused: evaluation stays cheap and bounded. */
const MAX_DEPTH = 4;

function conditionSchema(
	depth: number,
): v.GenericSchema<unknown, AudienceCondition> {
	const nested = () => {
		if (depth >= MAX_DEPTH)
			return v.custom<AudienceCondition>(
				() => false,
				`'any' and 'not' nest at most ${MAX_DEPTH} levels`,
			);
		return conditionSchema(depth + 1);
	};
	// The keys an object carries choose its kind, so an error names the kind's own fields
	// instead of listing every alternative.
	return v.lazy((input) => {
		const keys =
			typeof input === "object" && input !== null ? Object.keys(input) : [];
		if (keys.includes("any"))
			return v.strictObject({
				any: v.pipe(v.array(nested()), v.minLength(1)),
			});
		if (keys.includes("not")) return v.strictObject({ not: nested() });
		if (keys.includes("trigger")) return TriggerConditionSchema;
		if (keys.includes("event")) return EventConditionSchema;
		return ProfileConditionSchema;
	}) as v.GenericSchema<unknown, AudienceCondition>;
}

/** One condition of an audience's `where`. */
export const AudienceConditionSchema = conditionSchema(0);

/**
 * An audience: the profiles for which every condition of `where` holds. Entering and leaving it
 * emit `Audience Entered` / `Audience Exited` and an identify setting `<key>: true|false`, to
 * every destination whose routing takes them, or to `destinations` only when it is given.
 * A new or changed audience is first computed from stored events (audiences/backfill.ts); what
 * that finds is sent only with `sendOnBackfill`.
 *
 * @example
 * { "key": "high_value", "name": "High-value customers",
 *   "where": [{ "path": "computed.lifetime_value", "op": "gte", "value": 500 }] }
 */
export const AudienceSchema = v.strictObject({
	key: TraitKeySchema,
	name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
	where: v.pipe(v.array(AudienceConditionSchema), v.minLength(1)),
	destinations: v.optional(v.array(v.string())),
	enabled: v.optional(v.boolean(), true),
	/**
	 * Whether the entries and exits a backfill finds (when the definition is new or changed,
	 * computed from stored events) are sent as activation events. Default false: they are
	 * recorded, and only later changes are sent.
	 */
	sendOnBackfill: v.optional(v.boolean()),
});
export type Audience = v.InferOutput<typeof AudienceSchema>;

/**
 * The config's `audiences` section. `source` names the configured source whose id the
 * activation events carry (its consent defaults apply to them, as to any event of it).
 *
 * @example
 * { "source": "audiences", "computedTraits": [...], "definitions": [...] }
 */
export const AudiencesSchema = v.strictObject({
	source: v.string(),
	computedTraits: v.optional(
		v.pipe(v.array(ComputedTraitSchema), v.maxLength(100)),
		[],
	),
	definitions: v.optional(
		v.pipe(v.array(AudienceSchema), v.maxLength(200)),
		[],
	),
});
export type AudiencesConfig = v.InferOutput<typeof AudiencesSchema>;

/** A problem a schema cannot see alone (a name another part of the document must define). */
export interface AudienceIssue {
	message: string;
	path: [string | number, ...(string | number)[]];
}

/**
 * Checks the section against the rest of the document: the source exists, keys are unique,
 * `computed.` paths name a configured or built-in computed trait, named destinations exist.
 *
 * @example
 * audienceIssues(section, new Set(["web"]), new Set(["crm"]))
 * // [{ message: "names unknown source 'audiences'", path: ["audiences", "source"] }]
 */
export function audienceIssues(
	section: AudiencesConfig,
	sources: ReadonlySet<string>,
	destinations: ReadonlySet<string>,
): AudienceIssue[] {
	const issues: AudienceIssue[] = [];
	const at = (
		...path: (string | number)[]
	): [string | number, ...(string | number)[]] => ["audiences", ...path];
	if (!sources.has(section.source))
		issues.push({
			message: `names unknown source '${section.source}'`,
			path: at("source"),
		});
	const traits = new Set<string>();
	section.computedTraits.forEach((trait, i) => {
		if (traits.has(trait.key))
			issues.push({
				message: `duplicate computed trait key '${trait.key}'`,
				path: at("computedTraits", i, "key"),
			});
		traits.add(trait.key);
	});
	for (const trait of BUILT_IN_TRAITS) traits.add(trait.key);
	const keys = new Set<string>();
	section.definitions.forEach((audience, i) => {
		if (keys.has(audience.key))
			issues.push({
				message: `duplicate audience key '${audience.key}'`,
				path: at("definitions", i, "key"),
			});
		keys.add(audience.key);
		(audience.destinations ?? []).forEach((id, j) => {
			if (!destinations.has(id))
				issues.push({
					message: `names unknown destination '${id}'`,
					path: at("definitions", i, "destinations", j),
				});
		});
		audience.where.forEach((condition, j) => {
			checkComputed(
				condition,
				traits,
				at("definitions", i, "where", j),
				issues,
			);
		});
	});
	return issues;
}

function checkComputed(
	condition: AudienceCondition,
	traits: ReadonlySet<string>,
	path: [string | number, ...(string | number)[]],
	issues: AudienceIssue[],
): void {
	if ("any" in condition)
		condition.any.forEach((c, i) => {
			checkComputed(c, traits, [...path, "any", i], issues);
		});
	else if ("not" in condition)
		checkComputed(condition.not, traits, [...path, "not"], issues);
	else if ("path" in condition && condition.path.startsWith("computed.")) {
		const key = condition.path.slice("computed.".length);
		if (!traits.has(key))
			issues.push({
				message: `names unknown computed trait '${key}'`,
				path: [...path, "path"],
			});
	}
}
