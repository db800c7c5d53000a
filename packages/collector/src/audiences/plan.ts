import type { Condition } from "../routing/filters";
import { durationMs } from "./duration";
import { shortHash as hash } from "./hash";
import {
	type Aggregate,
	type AudienceCondition,
	type AudiencesConfig,
	BUILT_IN_TRAITS,
	type ComputedTrait,
} from "./schema";

/*
 * The config's audiences section compiled once per config: every aggregate a profile keeps
 * (the computed traits, plus hidden ones that event conditions and triggers read), indexed by
 * event name, and each audience's conditions pointing at them.
 */

/** Windows up to this long keep hourly buckets; longer ones keep daily buckets. */
const HOURLY_UP_TO_MS = 48 * 3_600_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** One aggregate each profile keeps. */
export interface Tracked {
	/** A computed trait's key, or `~…` for a hidden aggregate (stable for the same definition). */
	id: string;
	event: string;
	where: readonly Condition[];
	aggregate: Aggregate;
	/** Dot paths into the event; the first with a usable value counts. */
	property: readonly string[];
	/** The value is the event's time in ms (the clocks triggers read). */
	time: boolean;
	window?: { ms: number; bucketMs: number };
	/** A hash of what it counts: a definition changed under the same id gets a new one. */
	hash: string;
	/**
	 * A built-in computed trait as built in (schema.ts BUILT_IN_TRAITS): counted live since the
	 * collector first ran, so it is never registered for a backfill (definitions.ts).
	 */
	builtIn?: true;
}

/** An audience condition, compiled. */
export type Compiled =
	| { kind: "profile"; condition: Condition }
	| { kind: "count"; id: string; op: string; value: number }
	| {
			kind: "trigger";
			started: string;
			stopped: string;
			withinMs: number;
			exitMs: number;
	  }
	| { kind: "any"; of: Compiled[] }
	| { kind: "not"; of: Compiled };

export interface CompiledAudience {
	key: string;
	name: string;
	destinations?: readonly string[];
	where: Compiled[];
	/** Send what a backfill finds (schema.ts). */
	sendOnBackfill: boolean;
	/** A hash of its conditions: a changed audience gets a new one (its name and destinations do not count). */
	hash: string;
	/** The ids of the aggregates its conditions read. */
	uses: string[];
}

/** What the audiences stage and the minute check run on. */
export interface AudiencePlan {
	/** The source id activation events carry. */
	source: string;
	tracked: Tracked[];
	byEvent: Map<string, Tracked[]>;
	audiences: CompiledAudience[];
	/** Identify and group trait keys some condition reads (the profile keeps only these). */
	traitKeys: string[];
	groupKeys: string[];
}

/**
 * Compiles the section, with the built-in computed traits it does not replace. A config with
 * no section still has a plan: the built-in traits, no audiences, and no source.
 *
 * @example
 * compilePlan(undefined).tracked.map((t) => t.id) // ["lifetime_value"]
 */
export function compilePlan(
	section: AudiencesConfig | undefined,
): AudiencePlan {
	const tracked = new Map<string, Tracked>();
	for (const trait of BUILT_IN_TRAITS)
		tracked.set(trait.key, { ...fromTrait(trait), builtIn: true });
	for (const trait of section?.computedTraits ?? []) {
		const compiled = fromTrait(trait);
		// The same definition under its key keeps counting as the built-in one.
		if (tracked.get(trait.key)?.hash !== compiled.hash)
			tracked.set(trait.key, compiled);
	}
	const traitKeys = new Set<string>();
	const groupKeys = new Set<string>();
	const compile = (c: AudienceCondition): Compiled => {
		if ("any" in c) return { kind: "any", of: c.any.map(compile) };
		if ("not" in c) return { kind: "not", of: compile(c.not) };
		if ("trigger" in c) {
			const { event, thenNot, within, exitAfter } = c.trigger;
			const started = clock(event);
			const stopped = clock(thenNot);
			tracked.set(started.id, started);
			tracked.set(stopped.id, stopped);
			return {
				kind: "trigger",
				started: started.id,
				stopped: stopped.id,
				withinMs: durationMs(within),
				exitMs: durationMs(exitAfter),
			};
		}
		if ("event" in c) {
			const spec = { event: c.event, where: c.where ?? [], within: c.within };
			const id = `~count:${hash(JSON.stringify(spec))}`;
			tracked.set(
				id,
				hashed({
					id,
					event: c.event,
					where: c.where ?? [],
					aggregate: "count",
					property: [],
					time: false,
					...(c.within && { window: windowOf(c.within) }),
				}),
			);
			return { kind: "count", id, op: c.op, value: c.value };
		}
		const [root, key] = c.path.split(".");
		if (root === "traits" && key) traitKeys.add(key);
		if (root === "group" && key) groupKeys.add(key);
		return { kind: "profile", condition: c };
	};
	const audiences = (section?.definitions ?? [])
		.filter((a) => a.enabled)
		.map((a) => {
			const where = a.where.map(compile);
			return {
				key: a.key,
				name: a.name,
				...(a.destinations && { destinations: a.destinations }),
				where,
				sendOnBackfill: a.sendOnBackfill ?? false,
				hash: hash(JSON.stringify(a.where)),
				uses: [...new Set(where.flatMap(usedIds))].filter((id) =>
					tracked.has(id),
				),
			};
		});
	const byEvent = new Map<string, Tracked[]>();
	for (const t of tracked.values())
		byEvent.set(t.event, [...(byEvent.get(t.event) ?? []), t]);
	return {
		source: section?.source ?? "",
		tracked: [...tracked.values()],
		byEvent,
		audiences,
		traitKeys: [...traitKeys],
		groupKeys: [...groupKeys],
	};
}

/** The aggregate ids a compiled condition reads. */
function usedIds(c: Compiled): string[] {
	switch (c.kind) {
		case "any":
			return c.of.flatMap(usedIds);
		case "not":
			return usedIds(c.of);
		case "count":
			return [c.id];
		case "trigger":
			return [c.started, c.stopped];
		case "profile":
			return c.condition.path.startsWith("computed.")
				? [c.condition.path.slice("computed.".length)]
				: [];
	}
}

/** A tracked aggregate with the hash of what it counts. */
function hashed(t: Omit<Tracked, "hash">): Tracked {
	const { id: _, ...what } = t;
	return { ...t, hash: hash(JSON.stringify(what)) };
}

function fromTrait(trait: ComputedTrait): Tracked {
	const property =
		trait.property === undefined
			? []
			: typeof trait.property === "string"
				? [trait.property]
				: trait.property;
	return hashed({
		id: trait.key,
		event: trait.event,
		where: trait.where ?? [],
		aggregate: trait.aggregate,
		property,
		time: false,
		...(trait.window && { window: windowOf(trait.window) }),
	});
}

/** The latest time (ms) a profile did `event`: what a trigger's clock reads. */
function clock(event: string): Tracked {
	return hashed({
		id: `~time:${hash(event)}`,
		event,
		where: [],
		aggregate: "max",
		property: [],
		time: true,
	});
}

function windowOf(text: string): { ms: number; bucketMs: number } {
	const ms = durationMs(text);
	return { ms, bucketMs: ms <= HOURLY_UP_TO_MS ? HOUR_MS : DAY_MS };
}
