import type { WireObject } from "@conduit/protocol";
import type { EnrichedEvent } from "../event";
import { orderingTime } from "../identity/event-facts";
import { conditionHolds } from "../routing/filters";
import { valueAt } from "../routing/path";
import { type Acc, addValue, emptyAcc, mergeAcc, usable } from "./aggregate";
import { shortHash } from "./hash";
import type { AudiencePlan, Tracked } from "./plan";

/*
 * A profile's audience state: one JSON document per profile, of bounded size. It holds each
 * aggregate (lifetime, or one accumulator per hour or day of a window), the identify and group
 * traits conditions read, the latest consent and identifiers, the memberships, and the keys of
 * the last events applied, so a redelivered batch adds nothing twice.
 */

/** Event keys a profile remembers: a redelivery comes back within a few batches. */
export const RECENT = 128;

/** A trait as kept: [value, time of the write, trust rank] (last write wins as in identity). */
export type TraitCell = [unknown, string, number];

/** One aggregate's state: the aggregate it is, and its lifetime state or its buckets. */
export interface AggState {
	g: string;
	/** Bucket size in ms for a windowed aggregate. */
	w?: number;
	a?: Acc;
	/** Bucket start (ms, as text) → accumulator. */
	b?: Record<string, Acc>;
	/** The definition's hash (plan.ts) it counts for. */
	h?: string;
}

/** Membership of one audience: [in (1) or out (0), transitions so far, time of the last one]. */
export type Membership = [0 | 1, number, string];

export interface ProfileState {
	t: Record<string, AggState>;
	p: Record<string, TraitCell>;
	g: Record<string, Record<string, TraitCell>>;
	/** Latest consent: [time, categoryPreferences (booleans), gpc]. */
	c: [string, Record<string, boolean>, boolean] | null;
	/** Identifiers of the latest event: [time, userId, anonymousId]. */
	i: [string, string | null, string | null] | null;
	m: Record<string, Membership>;
	r: string[];
}

/**
 * A profile that has seen nothing.
 *
 * @example
 * emptyState().t // {}
 */
export function emptyState(): ProfileState {
	return { t: {}, p: {}, g: {}, c: null, i: null, m: {}, r: [] };
}

/** One event for {@link applyEvent}: its source and the trust rank of its trait writes. */
export interface Applied {
	sourceId: string;
	event: EnrichedEvent;
	rank: number;
}

/**
 * Adds one resolved event to a profile's state, in place. An event applied before (same source
 * and messageId among the last {@link RECENT}) changes nothing. `nowMs` prunes window buckets
 * that can no longer count. An aggregate with an activation time in `activeFrom`
 * (audiences/definitions.ts) counts only events received from then on: a backfill counts the
 * earlier ones.
 *
 * @example
 * applyEvent(state, { sourceId: "web", event, rank: 0 }, plan, Date.now())
 */
export function applyEvent(
	state: ProfileState,
	{ sourceId, event, rank }: Applied,
	plan: AudiencePlan,
	nowMs: number,
	activeFrom?: ReadonlyMap<string, number>,
): boolean {
	const key = shortHash(`${sourceId}\n${event.messageId}`);
	if (state.r.includes(key)) return false;
	state.r.push(key);
	if (state.r.length > RECENT) state.r.splice(0, state.r.length - RECENT);
	const time = orderingTime(event);
	latest(state, event, time);
	if (event.type === "identify")
		writeTraits(state.p, asObject(event.traits), plan.traitKeys, time, rank);
	if (event.type === "group" && typeof event.groupId === "string") {
		const cells = state.g[event.groupId] ?? {};
		writeTraits(cells, asObject(event.traits), plan.groupKeys, time, rank);
		state.g[event.groupId] = cells;
	}
	if (event.type === "track" && typeof event.event === "string") {
		const receivedMs = Date.parse(event.receivedAt);
		for (const tracked of plan.byEvent.get(event.event) ?? [])
			if (!(receivedMs < (activeFrom?.get(tracked.id) ?? 0)))
				track(state, tracked, event, time, nowMs);
	}
	return true;
}

/**
 * Adds a stored event to a backfill's aggregates only, in place: the profile's latest
 * identifiers and consent (which keep the latest by time, so an old event changes nothing a
 * newer one set) and each given aggregate. It leaves the recent keys alone: the backfill's own
 * cursor keeps it from counting an event twice.
 *
 * @example
 * applyHistory(state, event, [plan.tracked[0]], Date.now())
 */
export function applyHistory(
	state: ProfileState,
	event: EnrichedEvent,
	tracked: readonly Tracked[],
	nowMs: number,
): number {
	const time = orderingTime(event);
	latest(state, event, time);
	if (event.type !== "track") return 0;
	let counted = 0;
	for (const t of tracked)
		if (t.event === event.event) {
			track(state, t, event, time, nowMs);
			counted++;
		}
	return counted;
}

/** Keeps the identifiers and consent of the profile's latest event. */
function latest(state: ProfileState, event: EnrichedEvent, time: string): void {
	const userId = typeof event.userId === "string" ? event.userId : null;
	const anonymousId =
		typeof event.anonymousId === "string" ? event.anonymousId : null;
	if (!state.i || time >= state.i[0])
		state.i = [
			time,
			userId ?? state.i?.[1] ?? null,
			anonymousId ?? state.i?.[2] ?? null,
		];
	const consent = consentOf(event);
	if (consent && (!state.c || time >= state.c[0]))
		state.c = [time, consent, event.context.gpc === true];
}

function track(
	state: ProfileState,
	tracked: Tracked,
	event: EnrichedEvent,
	time: string,
	nowMs: number,
): void {
	if (!tracked.where.every((c) => conditionHolds(c, event))) return;
	const value = tracked.time ? Date.parse(time) : trackedInput(tracked, event);
	if (value === undefined) return;
	const agg = aggState(state, tracked);
	const { window } = tracked;
	if (!window) {
		agg.a = addValue(tracked.aggregate, agg.a ?? null, value, time);
		return;
	}
	const start =
		Math.floor(Date.parse(time) / window.bucketMs) * window.bucketMs;
	const buckets = agg.b ?? {};
	for (const at of Object.keys(buckets))
		if (Number(at) + window.bucketMs <= nowMs - window.ms) delete buckets[at];
	agg.b = buckets;
	// An event older than the window counts for nothing.
	if (start + window.bucketMs <= nowMs - window.ms) return;
	buckets[start] = addValue(
		tracked.aggregate,
		buckets[start] ?? emptyAcc(tracked.aggregate),
		value,
		time,
	);
}

function trackedInput(tracked: Tracked, event: EnrichedEvent) {
	if (tracked.aggregate === "count") return 0;
	for (const path of tracked.property) {
		const value = usable(tracked.aggregate, valueAt(event, path));
		if (value !== undefined) return value;
	}
	return undefined;
}

/**
 * A tracked aggregate's state in the profile, started afresh when the definition changed (its
 * hash, aggregate or bucket size) since it was stored.
 *
 * @example
 * aggState(state, tracked).a // the lifetime accumulator
 */
export function aggState(state: ProfileState, tracked: Tracked): AggState {
	const w = tracked.window?.bucketMs;
	const found = state.t[tracked.id];
	if (found && found.g === tracked.aggregate && found.w === w) {
		// A state written before definitions had hashes adopts the current one.
		if (found.h === undefined || found.h === tracked.hash) {
			found.h = tracked.hash;
			return found;
		}
	}
	const fresh: AggState = w
		? { g: tracked.aggregate, w, b: {}, h: tracked.hash }
		: { g: tracked.aggregate, a: emptyAcc(tracked.aggregate), h: tracked.hash };
	state.t[tracked.id] = fresh;
	return fresh;
}

/**
 * Two profiles' states as one, for a merge: aggregates combined, traits by last write, the
 * later consent and identifiers, memberships of either (so the survivor does not enter again
 * what the absorbed profile was in), both recent lists.
 *
 * @example
 * const survivor = mergeStates(survivorState, absorbedState, plan);
 */
export function mergeStates(
	a: ProfileState,
	b: ProfileState,
	plan: AudiencePlan,
): ProfileState {
	const merged = structuredClone(a);
	for (const tracked of plan.tracked) {
		const other = b.t[tracked.id];
		if (!other) continue;
		const mine = aggState(merged, tracked);
		if (
			other.g !== mine.g ||
			other.w !== mine.w ||
			(other.h !== undefined && other.h !== mine.h)
		)
			continue;
		if (mine.b && other.b) {
			for (const [at, acc] of Object.entries(other.b))
				mine.b[at] = mergeAcc(
					tracked.aggregate,
					mine.b[at] ?? emptyAcc(tracked.aggregate),
					acc,
				);
		} else
			mine.a = mergeAcc(
				tracked.aggregate,
				mine.a ?? emptyAcc(tracked.aggregate),
				other.a ?? emptyAcc(tracked.aggregate),
			);
	}
	for (const [key, cell] of Object.entries(b.p)) writeCell(merged.p, key, cell);
	for (const [group, cells] of Object.entries(b.g)) {
		const target = merged.g[group] ?? {};
		for (const [key, cell] of Object.entries(cells))
			writeCell(target, key, cell);
		merged.g[group] = target;
	}
	if (b.c && (!merged.c || b.c[0] > merged.c[0])) merged.c = b.c;
	if (b.i && (!merged.i || b.i[0] > merged.i[0])) merged.i = b.i;
	for (const [key, [inside, n, since]] of Object.entries(b.m)) {
		const mine = merged.m[key];
		merged.m[key] = mine
			? [
					(mine[0] || inside) as 0 | 1,
					Math.max(mine[1], n),
					mine[2] < since ? mine[2] : since,
				]
			: [inside, n, since];
	}
	merged.r = [...new Set([...merged.r, ...b.r])].slice(-RECENT);
	return merged;
}

/**
 * Writes traits into a profile's cells: only the keys conditions read, last write wins by
 * (trust rank, time, JSON of the value) as identity's own trait table orders them.
 *
 * @example
 * writeTraits(state.p, { plan: "pro" }, ["plan"], "2026-11-01T08:00:00.000Z", 0)
 */
export function writeTraits(
	cells: Record<string, TraitCell>,
	traits: WireObject | undefined,
	keys: readonly string[],
	time: string,
	rank: number,
): void {
	if (!traits) return;
	for (const key of keys)
		if (Object.hasOwn(traits, key))
			writeCell(cells, key, [traits[key] ?? null, time, rank]);
}

function writeCell(
	cells: Record<string, TraitCell>,
	key: string,
	cell: TraitCell,
): void {
	const old = Object.hasOwn(cells, key) ? cells[key] : undefined;
	if (!old || compareCells(cell, old) > 0) cells[key] = cell;
}

function compareCells(x: TraitCell, y: TraitCell): number {
	if (x[2] !== y[2]) return x[2] - y[2];
	if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
	const [a, b] = [JSON.stringify(x[0]), JSON.stringify(y[0])];
	return a === b ? 0 : a < b ? -1 : 1;
}

function consentOf(event: EnrichedEvent): Record<string, boolean> | undefined {
	const preferences = valueAt(event, "context.consent.categoryPreferences");
	const object = asObject(preferences);
	if (!object) return undefined;
	const granted: Record<string, boolean> = {};
	for (const [key, value] of Object.entries(object))
		if (typeof value === "boolean") granted[key] = value;
	return granted;
}

function asObject(value: unknown): WireObject | undefined {
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as WireObject)
		: undefined;
}
