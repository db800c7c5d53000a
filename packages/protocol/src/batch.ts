import { MAX_EVENT_DEPTH } from "./limits";
import type { WireObject } from "./wire";

/*
 * The batch body's shared fields, as Segment's HTTP API defines them: a batch's `context` (and
 * `integrations`) is merged into each event of the batch, the event's own values winning. The
 * collector applies it to what it accepts (ingest/accept.ts `eventsOfBatch`); the SDK sends the
 * context a flush's events share that way, and its tests read bodies with the same rule.
 */

/** Keys that reach an object's prototype when assigned: never copied from client input. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set([
	"__proto__",
	"constructor",
	"prototype",
]);

function asObject(value: unknown): WireObject | undefined {
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as WireObject)
		: undefined;
}

/**
 * A copy of `own` with what it lacks taken from `shared`, recursively for nested objects, never
 * through an unsafe key. It stops merging past {@link MAX_EVENT_DEPTH} levels (keeping `own`'s
 * value there), so a hostile batch cannot make it recurse without end; an event that deep is
 * refused anyway.
 *
 * @example
 * mergeMissing({ app: { name: "a" } }, { app: { version: "1" }, locale: "de" })
 * // { app: { name: "a", version: "1" }, locale: "de" }
 */
export function mergeMissing(
	own: WireObject,
	shared: WireObject,
	depth = 2,
): WireObject {
	const merged: WireObject = { ...own };
	for (const key of Object.keys(shared)) {
		if (UNSAFE_KEYS.has(key)) continue;
		const mine = asObject(merged[key]);
		const theirs = asObject(shared[key]);
		if (merged[key] === undefined) merged[key] = shared[key];
		else if (mine && theirs && depth < MAX_EVENT_DEPTH)
			merged[key] = mergeMissing(mine, theirs, depth + 1);
	}
	return merged;
}
