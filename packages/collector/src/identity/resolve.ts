import type { ClaimedEvent } from "../db/seen";
import type { IdentityCache } from "./cache";
import { commitStatements, type EventWrite } from "./commit";
import { isConflict } from "./conflict";
import { groupOf, orderingTime, traitRows } from "./event-facts";
import { type Identifier, identifiersOf, identityKey } from "./identifiers";
import {
	type GraphProfile,
	NeedsRead,
	type Plan,
	type PlanEvent,
	planResolution,
} from "./plan";
import { readGraph } from "./read";
import { ANONYMOUS_ID, type IdentitySettings, USER_ID } from "./settings";
import { suppressionKey, suppressionVerdict } from "./suppression";
import type { Tally } from "./tally";
import { type SourceTrust, TRUST_RANK } from "./trust";

/*
 * Stage 3 of the pipeline (in the queue consumer, after storage) — must pass. If resolution
 * fails, the consumer retries the whole batch; resolution is idempotent, so a retry or a
 * redelivery changes nothing that was already applied.
 *
 * How a batch is resolved, and why it is safe:
 * - Identifiers are looked up in the cache (isolate LRU, then KV). When every identifier of
 *   every event has a hint, the batch is planned on the hints alone and written in one D1
 *   batch: one round trip. Otherwise the graph is read first (one more round trip): the
 *   identities of the unhinted identifiers, every profile involved (a hint naming a merged
 *   profile is followed through merged_into), and suppressions.
 * - The write is one D1 batch, so one transaction: all of it applies or none. It opens with a
 *   guard — every existing profile the plan relied on is still live and, where it was read, at
 *   the version read — and identifiers are inserted with a plain INSERT on their primary key.
 *   A second consumer that changed the graph in between makes the guard or the insert fail;
 *   the batch rolls back and is planned again from a fresh read, with the hints dropped.
 * - Redelivery: what the commit writes (identities, merges, traits by timestamp, first and last
 *   seen, groups, refusals) is naturally idempotent against the graph it reads. The counters
 *   are not, so the commit leaves them out: the result's `tally` is added in the consumer's
 *   finish transaction (tally.ts).
 * - Time and trust: everything ordered by time uses the event's timestamp clamped to its
 *   receivedAt plus a small allowance (event-facts.ts `orderingTime`), so no client dates a
 *   write into the future; a trait written by a `server` source is never replaced by a
 *   `client` source's (trust.ts), in a merge as in an identify.
 * - `context.profileId` belongs to the collector: a resolved event gets its profile's id, an
 *   unresolved one loses whatever the client sent.
 */

/** What the identity stage needs from the outside world. */
export interface IdentityDeps {
	db: D1Database;
	cache: IdentityCache;
	settingsFor(sourceId: string): IdentitySettings;
	/** Whose trait writes win conflicts (trust.ts `sourceTrust`). */
	trustFor(sourceId: string): SourceTrust;
	now(): Date;
	newProfileId(): string;
	/**
	 * Lets cache writes outlive the batch (the queue handler's `ctx.waitUntil`); without it
	 * they are awaited. KV is a cache, so a write that never lands costs a D1 read later.
	 */
	defer?: (work: Promise<unknown>) => void;
}

/** What one batch's resolution did, for logs and the benchmark. */
export interface IdentityStats {
	events: number;
	resolved: number;
	/** Events without a usable identifier: they get no profile. */
	unresolved: number;
	/** Events carrying a suppressed identifier of a deleted profile. */
	dropped: number;
	profilesCreated: number;
	merges: number;
	refusals: number;
	/** Write attempts; more than 1 means a race with another consumer was lost and replanned. */
	attempts: number;
	/** Graph reads (0 when the cache knew every identifier). */
	reads: number;
	memoryHits: number;
	kvHits: number;
}

export interface IdentityResult {
	/**
	 * The batch minus dropped events, each with `context.profileId` set to its profile, or
	 * without one when it has no profile (a client's own value never passes).
	 */
	events: ClaimedEvent[];
	stats: IdentityStats;
	/** The counters to add when the batch finishes (tally.ts), not written by the commit. */
	tally: Tally;
}

/** Races lost in a row before the batch is handed back to the queue for a later retry. */
const MAX_ATTEMPTS = 5;

interface Prepared {
	stored: ClaimedEvent;
	settings: IdentitySettings;
	/** The event's time for ordering (clamped; see orderingTime). */
	time: string;
	trust: SourceTrust;
	identifiers: Identifier[];
	previousId?: string;
}

interface Outcome {
	plan: Plan;
	planned: Prepared[];
	dropped: Prepared[];
}

/**
 * Resolves every event of a stored batch to its profile and records it (see the notes above).
 *
 * @example
 * const { events, stats } = await resolveIdentities(fresh, identityDeps(env, config));
 * events[0].event.context.profileId // "prof_01J…"
 */
export async function resolveIdentities(
	stored: readonly ClaimedEvent[],
	deps: IdentityDeps,
): Promise<IdentityResult> {
	const stats: IdentityStats = {
		events: stored.length,
		resolved: 0,
		unresolved: 0,
		dropped: 0,
		profilesCreated: 0,
		merges: 0,
		refusals: 0,
		attempts: 0,
		reads: 0,
		memoryHits: 0,
		kvHits: 0,
	};
	if (stored.length === 0)
		return { events: [], stats, tally: { counted: [], dropped: [] } };
	// Within a batch the earlier event (by its own time) claims an identifier first.
	const batch = stored.map((event) => prepare(event, deps)).sort(byEventTime);

	let bypassCache = false;
	let outcome: Outcome | undefined;
	while (!outcome) {
		stats.attempts++;
		try {
			outcome = await attempt(batch, deps, bypassCache, stats);
		} catch (error) {
			if (!isConflict(error) || stats.attempts >= MAX_ATTEMPTS) throw error;
			// Lost a race: whatever the cache said about this batch may be what changed.
			bypassCache = true;
			const keys = batch.flatMap(lookupKeys);
			const profiles = keys.flatMap(
				(key) => deps.cache.identities.get(key) ?? [],
			);
			await deps.cache.forget(keys, profiles);
		}
	}

	const { plan, planned, dropped } = outcome;
	const profileOfRow = new Map<string, string>();
	const tally: Tally = { counted: [], dropped: [] };
	planned.forEach((p, i) => {
		const profileId = plan.profiles[i];
		if (!profileId) return;
		profileOfRow.set(p.stored.key, profileId);
		tally.counted.push([p.stored.key, profileId, p.stored.event.type]);
	});
	for (const p of dropped)
		for (const id of candidates(p))
			tally.dropped.push([p.stored.key, await suppressionKey(id)]);
	const droppedRows = new Set(dropped.map((p) => p.stored.key));
	const events: ClaimedEvent[] = [];
	for (const item of stored) {
		if (droppedRows.has(item.key)) continue;
		const profileId = profileOfRow.get(item.key);
		events.push(withProfileId(item, profileId));
	}
	stats.resolved = profileOfRow.size;
	stats.unresolved = planned.length - profileOfRow.size;
	stats.dropped = dropped.length;
	stats.profilesCreated = plan.created.length;
	stats.merges = plan.merges.length;
	stats.refusals = plan.refusals.length;
	return { events, stats, tally };
}

async function attempt(
	batch: readonly Prepared[],
	deps: IdentityDeps,
	bypassCache: boolean,
	stats: IdentityStats,
): Promise<Outcome> {
	const now = deps.now();
	const keys = batch.flatMap(lookupKeys);
	const lookup = bypassCache
		? { hints: new Map<string, string>(), fromMemory: 0, fromKv: 0 }
		: await deps.cache.lookup(keys);
	stats.memoryHits += lookup.fromMemory;
	stats.kvHits += lookup.fromKv;

	let outcome = await planOnHints(batch, lookup.hints, deps);
	if (!outcome) {
		stats.reads++;
		outcome = await planOnRead(batch, lookup.hints, deps, now);
	}
	const { plan, planned } = outcome;

	const writes: EventWrite[] = [];
	planned.forEach((p, i) => {
		const profileId = plan.profiles[i];
		if (profileId) writes.push(eventWrite(p, profileId));
	});
	const commit = commitStatements(deps.db, plan, writes, now);
	// Nothing to write (no event carries a usable identifier): no round trip either.
	const results =
		commit.statements.length === 0
			? []
			: await deps.db.batch<{
					type: string;
					value: string;
					profile_id: string;
				}>(commit.statements);

	// The write is in; now bring the cache up to date (best effort).
	const remember = new Map<string, string>();
	for (const [key, owner] of plan.owners)
		if (lookup.hints.get(key) !== owner) remember.set(key, owner);
	const moved =
		commit.repointed === undefined ? [] : results[commit.repointed]?.results;
	for (const row of moved ?? [])
		remember.set(
			identityKey({ type: row.type, value: row.value }),
			row.profile_id,
		);
	// The isolate's LRU is updated at once; the KV writes may finish after the batch is acked.
	const kvWrites = Promise.all([
		deps.cache.remember(remember),
		deps.cache.rememberCounts(plan.counts),
		deps.cache.forget(
			[],
			plan.merges.map((m) => m.absorbedId),
			{ kv: true },
		),
	]);
	if (deps.defer) deps.defer(kvWrites);
	else await kvWrites;
	return outcome;
}

/**
 * Plans from cache hints alone, when every identifier has one and no decision needs a read.
 * Profiles' counts come from the LRU, and from KV only if a decision asks for them.
 */
async function planOnHints(
	batch: readonly Prepared[],
	hints: ReadonlyMap<string, string>,
	deps: IdentityDeps,
): Promise<Outcome | undefined> {
	const allHinted = batch.every(
		(p) =>
			p.previousId === undefined &&
			p.identifiers.every((id) => hints.has(identityKey(id))),
	);
	if (!allHinted) return undefined;
	const ids = [...new Set(hints.values())];
	// A hinted profile that is live still holds every identifier hinted to it (identities move
	// only when their profile is absorbed, and go only when it is deleted, which is what
	// suppresses them), and the write's guard checks it is live: no suppression read is needed.
	for (const kv of [false, true]) {
		const counts = await deps.cache.counts(ids, { kv });
		const profiles = new Map<string, GraphProfile>();
		for (const id of ids)
			profiles.set(id, {
				id,
				createdAt: "",
				version: null,
				counts: counts.get(id) ?? null,
			});
		try {
			const plan = planResolution(
				batch.map((p) => planEvent(p, p.identifiers)),
				{ owners: hints, profiles },
				deps.newProfileId,
			);
			return { plan, planned: [...batch], dropped: [] };
		} catch (error) {
			if (!(error instanceof NeedsRead)) throw error;
			// Every count was already at hand: only a read can decide.
			if (counts.size === ids.length) return undefined;
		}
	}
	return undefined;
}

/** Reads the graph (one round trip), applies suppressions and alias typing, then plans. */
async function planOnRead(
	batch: readonly Prepared[],
	hints: ReadonlyMap<string, string>,
	deps: IdentityDeps,
	now: Date,
): Promise<Outcome> {
	const distinct = new Map<string, Identifier>();
	for (const p of batch)
		for (const id of candidates(p)) distinct.set(identityKey(id), id);
	const toRead: Identifier[] = [];
	const hinted = new Map<string, string>();
	for (const [key, id] of distinct) {
		const hint = hints.get(key);
		if (hint) hinted.set(key, hint);
		else toRead.push(id);
	}
	const suppressionKeys = new Map<string, string>();
	await Promise.all(
		[...distinct].map(async ([key, id]) =>
			suppressionKeys.set(key, await suppressionKey(id)),
		),
	);
	const limitedTypes = new Set<string>();
	for (const p of batch)
		for (const type of Object.keys(p.settings.maxPerProfile))
			limitedTypes.add(type);

	const snapshot = await readGraph(deps.db, {
		identifiers: toRead,
		hintedProfiles: [...new Set(hinted.values())],
		limitedTypes: [...limitedTypes],
		suppressionKeys: [...new Set(suppressionKeys.values())],
	});
	const owners = new Map(snapshot.owners);
	for (const [key, hint] of hinted) {
		const live = snapshot.forward.get(hint);
		if (live) owners.set(key, live);
	}

	const planned: Prepared[] = [];
	const events: PlanEvent[] = [];
	const dropped: Prepared[] = [];
	for (const p of batch) {
		const identifiers = [...p.identifiers];
		if (p.previousId !== undefined) {
			// previousId is a user_id when the graph knows it as one, else an anonymous id.
			const asUser = { type: USER_ID, value: p.previousId };
			identifiers.push(
				owners.has(identityKey(asUser))
					? asUser
					: { type: ANONYMOUS_ID, value: p.previousId },
			);
		}
		const verdict = suppressionVerdict(
			identifiers,
			identifiers.map((id) => suppressionKeys.get(identityKey(id)) ?? ""),
			snapshot.suppressions,
			p.settings.suppressionDays,
			now,
		);
		if (verdict.drop) dropped.push(p);
		else {
			planned.push(p);
			events.push(planEvent(p, verdict.identifiers));
		}
	}
	const plan = planResolution(
		events,
		{ owners, profiles: snapshot.profiles },
		deps.newProfileId,
	);
	return { plan, planned, dropped };
}

function prepare(stored: ClaimedEvent, deps: IdentityDeps): Prepared {
	const settings = deps.settingsFor(stored.sourceId);
	return {
		stored,
		settings,
		time: orderingTime(stored.event),
		trust: deps.trustFor(stored.sourceId),
		...identifiersOf(stored.event, settings),
	};
}

/** The event's identifiers plus, for an alias, both readings of its previousId. */
function candidates(p: Prepared): Identifier[] {
	if (p.previousId === undefined) return p.identifiers;
	return [
		...p.identifiers,
		{ type: USER_ID, value: p.previousId },
		{ type: ANONYMOUS_ID, value: p.previousId },
	];
}

function lookupKeys(p: Prepared): string[] {
	return candidates(p).map(identityKey);
}

function planEvent(p: Prepared, identifiers: Identifier[]): PlanEvent {
	return {
		sourceId: p.stored.sourceId,
		messageId: p.stored.event.messageId,
		identifiers,
		limits: p.settings.maxPerProfile,
	};
}

function eventWrite(p: Prepared, profileId: string): EventWrite {
	const { event } = p.stored;
	const group = groupOf(event);
	return {
		profileId,
		timestamp: p.time,
		trustRank: TRUST_RANK[p.trust],
		traits:
			event.type === "identify" && event.traits ? traitRows(event.traits) : [],
		...(group && {
			group: { groupId: group.groupId, traits: traitRows(group.traits) },
		}),
	};
}

/** The event with the resolved profile as `context.profileId`, or with none when unresolved. */
function withProfileId(
	stored: ClaimedEvent,
	profileId: string | undefined,
): ClaimedEvent {
	const { event } = stored;
	if (profileId)
		return {
			...stored,
			event: { ...event, context: { ...event.context, profileId } },
		};
	if (!Object.hasOwn(event.context, "profileId")) return stored;
	const { profileId: _client, ...context } = event.context;
	return { ...stored, event: { ...event, context } };
}

function byEventTime(a: Prepared, b: Prepared): number {
	if (a.time !== b.time) return a.time < b.time ? -1 : 1;
	const x = a.stored.event;
	const y = b.stored.event;
	if (x.messageId !== y.messageId) return x.messageId < y.messageId ? -1 : 1;
	return a.stored.key < b.stored.key ? -1 : a.stored.key > b.stored.key ? 1 : 0;
}
