import type { LoadedConfig } from "../config/schema";
import type { QueuedEvent } from "../event";
import { countingD1 } from "../identity/d1-counter";
import { Lru } from "../identity/lru";
import { sourceTrust, TRUST_RANK } from "../identity/trust";
import { liveDefinitions } from "./definitions";
import { type AudiencePlan, compilePlan } from "./plan";
import { commit, settle, type Work } from "./settle";
import {
	applyEvent,
	emptyState,
	type ProfileState,
	writeTraits,
} from "./state";
import { isStateConflict, readStates, type StoredState } from "./store";

/*
 * The audiences step of the EVENTS consumer, after identity and fan-out, on the resolved
 * events. Must pass for the batch, not isolated per event: a failure (D1, the queue) throws and
 * the consumer retries the whole batch. That is safe because the stages before it are
 * idempotent and this one is too: each profile remembers the keys of the events it applied
 * (state.ts `RECENT`), and activation events have deterministic messageIds.
 *
 * Round trips: a warm batch (every profile's state in this isolate's cache) costs one, the
 * guarded write; a cold one reads first (one more). The write's guard fails when another
 * consumer or the minute check changed a state since it was read or cached: the batch is then
 * planned again from a fresh read, at most MAX_ATTEMPTS times.
 */

const MAX_ATTEMPTS = 5;
/** Profile states an isolate keeps between batches (a few KB each: bounded memory). */
const CACHE_PROFILES = 2000;

const cache = new Lru<StoredState>(CACHE_PROFILES);
const plans = new WeakMap<LoadedConfig, AudiencePlan>();

/**
 * The compiled audiences and computed traits of a config (with the built-in traits), once per
 * loaded config.
 *
 * @example
 * planOf(config).audiences.length // 3
 */
export function planOf(config: LoadedConfig): AudiencePlan {
	let plan = plans.get(config);
	if (!plan) {
		plan = compilePlan(config.config.audiences);
		plans.set(config, plan);
	}
	return plan;
}

/** What one call did, for the consumer's logs and the benchmark. */
export interface AudienceRun {
	profiles: number;
	transitions: number;
	/** D1 round trips (0 when no event of the batch feeds a computed trait or audience). */
	d1Calls: number;
	attempts: number;
}

/**
 * Applies the batch's resolved events to their profiles' computed traits and audiences, and
 * emits the entries and exits that follow (see the rules above). `fresh` skips the isolate's
 * cache: pass it when the batch merged profiles or is a retry, so states merged away are read
 * and combined.
 *
 * @example
 * await trackAudiences(env, config, events, { now: new Date(), fresh: merges > 0 || attempts > 1 });
 */
export async function trackAudiences(
	env: Pick<
		Env,
		"DB" | "EVENTS" | "CONFIG_CACHE_SECONDS" | "EVENT_RETENTION_DAYS"
	>,
	config: LoadedConfig,
	events: readonly QueuedEvent[],
	options: { now: Date; fresh: boolean },
): Promise<AudienceRun> {
	const run: AudienceRun = {
		profiles: 0,
		transitions: 0,
		d1Calls: 0,
		attempts: 0,
	};
	const compiled = planOf(config);
	// With no audience, a profile's state holds only its computed traits: events that feed
	// none leave it as it is, so they neither read nor write it.
	const relevant = (queued: QueuedEvent) =>
		compiled.audiences.length > 0 ||
		(queued.event.type === "track" &&
			typeof queued.event.event === "string" &&
			compiled.byEvent.has(queued.event.event));
	const byProfile = new Map<string, QueuedEvent[]>();
	for (const queued of events) {
		const profileId = queued.event.context.profileId;
		// A profile left out of a batch that merged must not be served later from a copy
		// cached before the merge: its next batch reads it, with what it absorbed.
		if (options.fresh && typeof profileId === "string") cache.delete(profileId);
		// Activation events are this step's own output: they never feed it back.
		if (
			typeof profileId !== "string" ||
			queued.sourceId === compiled.source ||
			!relevant(queued)
		)
			continue;
		byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), queued]);
	}
	if (byProfile.size === 0) return run;
	// New or changed definitions count from their activation and held audiences wait for
	// their backfill (definitions.ts).
	const { plan, activeFrom } = await liveDefinitions(
		env,
		config,
		compiled,
		options.now,
	);
	const d1 = countingD1(env.DB);
	const nowMs = options.now.getTime();
	const rank = (sourceId: string) =>
		TRUST_RANK[sourceTrust(config.sourcesById.get(sourceId))];
	let fresh = options.fresh;
	for (;;) {
		run.attempts++;
		const works = await load(d1.db, plan, [...byProfile.keys()], fresh);
		for (const work of works.values())
			for (const queued of work.queued)
				applyEvent(
					work.state,
					{ ...queued, rank: rank(queued.sourceId) },
					plan,
					nowMs,
					activeFrom,
				);
		const settled = await settle(plan, [...works.values()], options.now);
		try {
			await commit(env, d1.db, plan, settled, options.now);
		} catch (error) {
			for (const id of works.keys()) cache.delete(id);
			if (!isStateConflict(error) || run.attempts >= MAX_ATTEMPTS) throw error;
			fresh = true;
			continue;
		}
		for (const s of settled.states)
			cache.set(s.profileId, {
				profileId: s.profileId,
				version: s.version,
				state: s.state,
			});
		run.profiles = works.size;
		run.transitions = settled.write.transitions.length;
		run.d1Calls = d1.calls;
		return run;
	}

	/** The states to update, from the cache or one read, each with its events. */
	async function load(
		db: D1Database,
		plan: AudiencePlan,
		profileIds: string[],
		fresh: boolean,
	): Promise<Map<string, Work & { queued: QueuedEvent[] }>> {
		const works = new Map<string, Work & { queued: QueuedEvent[] }>();
		const cached = fresh ? [] : profileIds.map((id) => cache.get(id));
		if (cached.length === profileIds.length && cached.every(Boolean)) {
			for (const stored of cached as StoredState[])
				works.set(stored.profileId, {
					profileId: stored.profileId,
					version: stored.version,
					// The cached copy stays as it was until the write is in.
					state: structuredClone(stored.state),
					absorbed: [],
					queued: byProfile.get(stored.profileId) ?? [],
				});
			return works;
		}
		const read = await readStates(
			db,
			profileIds,
			plan.traitKeys,
			plan.groupKeys,
		);
		for (const id of profileIds) {
			const live = read.live.get(id) ?? id;
			let work = works.get(live);
			if (!work) {
				const stored = read.states.get(live);
				const state: ProfileState = stored?.state ?? emptyState();
				for (const [key, cell] of Object.entries(read.traits.get(live) ?? {}))
					writeTraits(
						state.p,
						{ [key]: cell[0] as never },
						[key],
						cell[1],
						cell[2],
					);
				for (const [group, cells] of Object.entries(
					read.groups.get(live) ?? {},
				)) {
					const target = state.g[group] ?? {};
					for (const [key, cell] of Object.entries(cells))
						writeTraits(
							target,
							{ [key]: cell[0] as never },
							[key],
							cell[1],
							cell[2],
						);
					state.g[group] = target;
				}
				work = {
					profileId: live,
					version: stored?.version ?? 0,
					state,
					absorbed: read.absorbed.get(live) ?? [],
					queued: [],
				};
				works.set(live, work);
			}
			work.queued.push(...(byProfile.get(id) ?? []));
		}
		return works;
	}
}
