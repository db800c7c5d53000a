import { conditionHolds } from "../routing/filters";
import {
	type Acc,
	accValue,
	emptyAcc,
	mergeAcc,
	type Scalar,
} from "./aggregate";
import type { AudiencePlan, Compiled, Tracked } from "./plan";
import type { ProfileState } from "./state";

/*
 * Evaluation: which audiences a profile is in at a moment, and the next moment that answer
 * could change with no new event (a window bucket leaving a window, a trigger's wait ending or
 * its exit time). Pure: the stage and the minute check call it with their own clock.
 */

/**
 * An aggregate's value at `nowMs`: the lifetime accumulator, or the buckets that overlap the
 * window `(now − window, now]` combined (so a window is rounded out to whole hours or days).
 * A profile that never did the event has 0 for count, sum and unique, else null.
 *
 * @example
 * trackedValue(state, plan.tracked[0], Date.now()) // 3
 */
export function trackedValue(
	state: ProfileState,
	tracked: Tracked,
	nowMs: number,
): Scalar | null {
	const agg = state.t[tracked.id];
	const w = tracked.window?.bucketMs;
	let acc: Acc = emptyAcc(tracked.aggregate);
	if (
		agg &&
		agg.g === tracked.aggregate &&
		agg.w === w &&
		(agg.h === undefined || agg.h === tracked.hash)
	) {
		if (!tracked.window) acc = agg.a ?? acc;
		else
			for (const [at, bucket] of Object.entries(agg.b ?? {}))
				if (inWindow(Number(at), tracked.window, nowMs))
					acc = mergeAcc(tracked.aggregate, acc, bucket);
	}
	return accValue(tracked.aggregate, acc);
}

function inWindow(
	start: number,
	window: { ms: number; bucketMs: number },
	nowMs: number,
): boolean {
	return start + window.bucketMs > nowMs - window.ms && start <= nowMs;
}

/**
 * The computed traits a profile has at `nowMs` (the configured ones, not the hidden ones).
 *
 * @example
 * computedTraits(state, plan, Date.now()) // { lifetime_value: 120, views_7d: 3 }
 */
export function computedTraits(
	state: ProfileState,
	plan: AudiencePlan,
	nowMs: number,
): Record<string, Scalar | null> {
	const out: Record<string, Scalar | null> = {};
	for (const tracked of plan.tracked)
		if (!tracked.id.startsWith("~"))
			out[tracked.id] = trackedValue(state, tracked, nowMs);
	return out;
}

/** A profile's audiences at a moment, and when to look again. */
export interface Evaluation {
	members: Set<string>;
	/** The next time (ms) an answer may change with no event; undefined when none can. */
	nextCheckMs: number | undefined;
}

/**
 * Evaluates every audience of the plan for one profile at `nowMs`.
 *
 * @example
 * evaluate(state, plan, Date.now()) // { members: Set { "cart_abandoners" }, nextCheckMs: 1764… }
 */
export function evaluate(
	state: ProfileState,
	plan: AudiencePlan,
	nowMs: number,
): Evaluation {
	const byId = new Map(plan.tracked.map((t) => [t.id, t]));
	const computed = computedTraits(state, plan, nowMs);
	const traits = Object.fromEntries(
		Object.entries(state.p).map(([key, cell]) => [key, cell[0]]),
	);
	const consent = state.c?.[1] ?? {};
	const groups = Object.values(state.g).map((cells) =>
		Object.fromEntries(Object.entries(cells).map(([k, cell]) => [k, cell[0]])),
	);
	const times: number[] = [];
	const value = (id: string) => {
		const tracked = byId.get(id);
		return tracked ? trackedValue(state, tracked, nowMs) : null;
	};
	const holds = (c: Compiled): boolean => {
		switch (c.kind) {
			case "any":
				// Every branch is looked at, so each one's next check is known.
				return c.of.map(holds).some(Boolean);
			case "not":
				return !holds(c.of);
			case "count": {
				const tracked = byId.get(c.id);
				if (tracked) times.push(...expiries(state, tracked, nowMs));
				return compareCount(Number(value(c.id) ?? 0), c.op, c.value);
			}
			case "trigger": {
				const started = value(c.started);
				const stopped = value(c.stopped);
				if (typeof started !== "number") return false;
				if (typeof stopped === "number" && stopped >= started) return false;
				times.push(started + c.withinMs, started + c.exitMs);
				return nowMs >= started + c.withinMs && nowMs < started + c.exitMs;
			}
			case "profile": {
				const { condition } = c;
				if (condition.path.startsWith("computed.")) {
					const key = condition.path.slice("computed.".length);
					const tracked = byId.get(key);
					if (tracked) times.push(...expiries(state, tracked, nowMs));
				}
				if (!condition.path.startsWith("group."))
					return conditionHolds(condition, { traits, computed, consent });
				// A group condition holds when it holds for any of the profile's groups.
				const rest = condition.path.slice("group.".length);
				const lists = groups.length > 0 ? groups : [{}];
				return lists.some((g) =>
					conditionHolds({ ...condition, path: rest }, g),
				);
			}
		}
	};
	const members = new Set<string>();
	for (const audience of plan.audiences)
		if (audience.where.map(holds).every(Boolean)) members.add(audience.key);
	const later = times.filter((t) => t > nowMs);
	return {
		members,
		nextCheckMs: later.length > 0 ? Math.min(...later) : undefined,
	};
}

/** When each bucket of a windowed aggregate leaves its window (after now). */
function expiries(
	state: ProfileState,
	tracked: Tracked,
	nowMs: number,
): number[] {
	const { window } = tracked;
	const agg = state.t[tracked.id];
	if (!window || !agg?.b) return [];
	return Object.keys(agg.b)
		.map((at) => Number(at) + window.bucketMs + window.ms)
		.filter((t) => t > nowMs);
}

function compareCount(actual: number, op: string, expected: number): boolean {
	switch (op) {
		case "eq":
			return actual === expected;
		case "ne":
			return actual !== expected;
		case "gt":
			return actual > expected;
		case "lt":
			return actual < expected;
		case "lte":
			return actual <= expected;
		default:
			return actual >= expected;
	}
}
