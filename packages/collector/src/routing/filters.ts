import { EVENT_TYPES } from "@conduit/protocol";
import * as v from "valibot";
import type { EnrichedEvent } from "../event";
import { valueAt } from "./path";

const NameListSchema = v.strictObject({
	include: v.optional(v.array(v.string())),
	exclude: v.optional(v.array(v.string())),
});

const OPERATORS = [
	"eq",
	"ne",
	"in",
	"nin",
	"gt",
	"gte",
	"lt",
	"lte",
	"exists",
	"missing",
] as const;

/** What a condition compares with: `eq` compares by identity, so objects could never match. */
const ScalarSchema = v.union(
	[v.string(), v.number(), v.boolean(), v.null()],
	"must be a string, number, boolean or null",
);

/**
 * One property condition: `{ "path": "properties.revenue", "op": "gt", "value": 0 }`. Audiences
 * (audiences/schema.ts) use the same conditions over a profile instead of an event.
 *
 * @example
 * v.parse(ConditionSchema, { path: "traits.plan", op: "eq", value: "pro" })
 */
export const ConditionSchema = v.pipe(
	v.strictObject({
		path: v.pipe(v.string(), v.minLength(1)),
		op: v.picklist(OPERATORS),
		value: v.optional(
			v.union(
				[ScalarSchema, v.array(ScalarSchema)],
				"must be a string, number, boolean or null, or an array of them",
			),
		),
	}),
	v.check(
		(c) => c.op === "exists" || c.op === "missing" || c.value !== undefined,
		"needs a 'value' for this op",
	),
	v.check(
		(c) => !(c.op === "in" || c.op === "nin") || Array.isArray(c.value),
		"'in' and 'nin' need an array 'value'",
	),
);

/**
 * Which events a destination takes. Every given rule must pass; an absent rule passes all.
 *
 * @example
 * { "sources": ["web"], "types": { "exclude": ["page"] },
 *   "events": { "include": ["Order Completed"] },
 *   "where": [{ "path": "properties.revenue", "op": "gt", "value": 0 }] }
 */
export const FiltersSchema = v.strictObject({
	/** Source ids whose events pass. */
	sources: v.optional(v.array(v.string())),
	types: v.optional(
		v.strictObject({
			include: v.optional(v.array(v.picklist(EVENT_TYPES))),
			exclude: v.optional(v.array(v.picklist(EVENT_TYPES))),
		}),
	),
	/** Event names: a track's `event`, a page's or screen's `name`. Other types have no name and pass. */
	events: v.optional(NameListSchema),
	where: v.optional(v.array(ConditionSchema)),
});
export type Filters = v.InferOutput<typeof FiltersSchema>;
export type Condition = v.InferOutput<typeof ConditionSchema>;

/**
 * Why an event fails a destination's filters, or undefined when it passes.
 *
 * @example
 * filterVerdict({ events: { exclude: ["Debug"] } }, "web", { type: "track", event: "Debug", … })
 * // "event 'Debug' is excluded"
 */
export function filterVerdict(
	filters: Filters | undefined,
	sourceId: string,
	event: EnrichedEvent,
): string | undefined {
	if (!filters) return undefined;
	if (filters.sources && !filters.sources.includes(sourceId))
		return `source '${sourceId}' is not listed`;
	const { types } = filters;
	if (types?.include && !types.include.includes(event.type))
		return `type '${event.type}' is not included`;
	if (types?.exclude?.includes(event.type))
		return `type '${event.type}' is excluded`;
	const name = eventName(event);
	if (name !== undefined) {
		if (filters.events?.include && !filters.events.include.includes(name))
			return `event '${name}' is not included`;
		if (filters.events?.exclude?.includes(name))
			return `event '${name}' is excluded`;
	}
	const failed = filters.where?.find((c) => !conditionHolds(c, event));
	return failed
		? `condition on '${failed.path}' (${failed.op}) fails`
		: undefined;
}

function eventName(event: EnrichedEvent): string | undefined {
	if (event.type === "track") return event.event;
	if (event.type === "page" || event.type === "screen") return event.name;
	return undefined;
}

/**
 * Whether one condition holds for the value at its path in `root` (an event, or the document an
 * audience evaluates: a profile's traits, computed traits and consent).
 *
 * @example
 * conditionHolds({ path: "properties.revenue", op: "gt", value: 0 }, { properties: { revenue: 5 } }) // true
 */
export function conditionHolds(condition: Condition, root: unknown): boolean {
	const actual = valueAt(root, condition.path);
	const expected = condition.value;
	switch (condition.op) {
		case "exists":
			return actual !== undefined && actual !== null;
		case "missing":
			return actual === undefined || actual === null;
		case "eq":
			return actual === expected;
		case "ne":
			return actual !== expected;
		case "in":
			return (expected as unknown[]).includes(actual);
		case "nin":
			return !(expected as unknown[]).includes(actual);
		case "gt":
			return compare(actual, expected, (a, b) => a > b);
		case "gte":
			return compare(actual, expected, (a, b) => a >= b);
		case "lt":
			return compare(actual, expected, (a, b) => a < b);
		case "lte":
			return compare(actual, expected, (a, b) => a <= b);
	}
}

/** Orders numbers with numbers and strings with strings; anything else never matches. */
function compare(
	actual: unknown,
	expected: unknown,
	test: (a: number | string, b: number | string) => boolean,
): boolean {
	const comparable =
		(typeof actual === "number" && typeof expected === "number") ||
		(typeof actual === "string" && typeof expected === "string");
	return comparable && test(actual, expected);
}
