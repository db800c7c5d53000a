import type { LimitCounts } from "./cache";
import { type Identifier, identityKey } from "./identifiers";
import { USER_ID } from "./settings";

/** A profile as the planner sees it. */
export interface GraphProfile {
	id: string;
	createdAt: string;
	/** The version read from D1; null when only a cache hint vouches for the profile. */
	version: number | null;
	/**
	 * Identities held per limited type: exact when read from D1 (`version` set), lower bounds
	 * when from the cache, null when unknown.
	 */
	counts: LimitCounts | null;
}

/** What is known of the identity graph before planning. */
export interface Graph {
	/** Identity key → live profile id. */
	owners: ReadonlyMap<string, string>;
	/** Every profile `owners` names. */
	profiles: ReadonlyMap<string, GraphProfile>;
}

/** One event, reduced to what resolution needs. */
export interface PlanEvent {
	sourceId: string;
	messageId: string;
	/** In priority order (user_id, anonymous_id, traits, previousId); blocked and suppressed ones removed. */
	identifiers: readonly Identifier[];
	/** Most identities of a type one profile may hold (the event's source's rules). */
	limits: Readonly<Record<string, number>>;
}

export interface Merge {
	survivorId: string;
	absorbedId: string;
	sourceId: string;
	messageId: string;
}

export interface Refusal {
	sourceId: string;
	messageId: string;
	/** Where the event went. */
	profileId: string;
	/** The profile it was not merged with; '' when an identifier was refused instead. */
	refusedProfileId: string;
	identifierType: string;
	reason: string;
}

/** Everything one batch changes in the graph, with every profile id final (after merges). */
export interface Plan {
	/** Per event, its profile (undefined: the event carries no usable identifier). */
	profiles: (string | undefined)[];
	/** New profiles to insert. */
	created: string[];
	attachments: { identifier: Identifier; profileId: string }[];
	/** Existing profiles absorbed into existing survivors. */
	merges: Merge[];
	refusals: Refusal[];
	/** Existing profiles the plan relies on → the version it relied on (null: only that it is live). */
	guard: Map<string, number | null>;
	/** Existing profiles that survive and whose identities change. */
	changed: string[];
	/** Exact limited-type counts of every profile the plan knows exactly, after the plan. */
	counts: Map<string, LimitCounts>;
	/** Identity key → its profile after the plan, for every identifier of the events that has one. */
	owners: Map<string, string>;
}

/**
 * Thrown when a decision needs exact facts about a profile that only a cache hint vouches for:
 * the resolver then reads the graph from D1 and plans again.
 *
 * @example
 * try { planResolution(events, hintsOnly, newId) } catch (e) { if (e instanceof NeedsRead) readAndPlan() }
 */
export class NeedsRead extends Error {
	constructor(profileId: string) {
		super(`profile ${profileId} must be read from D1 to decide`);
		this.name = "NeedsRead";
	}
}

interface Node {
	id: string;
	createdAt: string;
	isNew: boolean;
	exact: boolean;
	counts: LimitCounts | null;
	version: number | null;
	changed: boolean;
}

/**
 * Plans the resolution of a batch of events, in order, against a snapshot of the graph. Pure:
 * the resolver reads the snapshot and writes the plan; the rules live here.
 *
 * Per event: no identifier known → a new profile. Otherwise the event's anchor is the profile
 * of its user_id; if that user_id is new, the first of its other profiles (in identifier
 * priority order) that may take one more user_id, else a new profile. Every other profile the
 * event names is merged with the anchor — the older profile survives — unless that would break
 * a limit (by default one user_id per profile): then the merge is refused and recorded, and
 * each stays as it is (so two known users on a shared computer are never merged). New
 * identifiers are attached to the anchor, within the limits.
 *
 * @throws NeedsRead when a decision depends on a profile known only from the cache.
 * @example
 * const plan = planResolution(events, graph, () => `prof_${ulid()}`);
 * plan.profiles[0] // the first event's profile
 */
export function planResolution(
	events: readonly PlanEvent[],
	graph: Graph,
	newProfileId: () => string,
): Plan {
	const nodes = new Map<string, Node>();
	const parent = new Map<string, string>();
	const owners = new Map(graph.owners);
	const guard = new Map<string, number | null>();
	const created: string[] = [];
	const attachments: Plan["attachments"] = [];
	const merges: Merge[] = [];
	const refusals: Refusal[] = [];
	const assigned: (string | undefined)[] = [];

	const find = (id: string): string => {
		let root = id;
		for (let up = parent.get(root); up !== undefined; up = parent.get(root))
			root = up;
		return root;
	};
	const node = (id: string): Node => {
		const known = nodes.get(id);
		if (known) return known;
		const profile = graph.profiles.get(id);
		if (!profile) throw new Error(`the graph names profile ${id} but lacks it`);
		const fresh: Node = {
			id,
			createdAt: profile.createdAt,
			isNew: false,
			exact: profile.version !== null,
			counts: profile.counts ? { ...profile.counts } : null,
			version: profile.version,
			changed: false,
		};
		nodes.set(id, fresh);
		guard.set(id, profile.version);
		return fresh;
	};
	const create = (): string => {
		const id = newProfileId();
		nodes.set(id, {
			id,
			createdAt: "",
			isNew: true,
			exact: true,
			counts: {},
			version: null,
			changed: false,
		});
		created.push(id);
		return id;
	};
	const ownerOf = (identifier: Identifier): string | undefined => {
		const owner = owners.get(identityKey(identifier));
		if (owner === undefined) return undefined;
		node(owner);
		return find(owner);
	};
	const attach = (identifier: Identifier, profileId: string) => {
		owners.set(identityKey(identifier), profileId);
		attachments.push({ identifier, profileId });
		const target = node(profileId);
		if (target.counts)
			target.counts[identifier.type] =
				(target.counts[identifier.type] ?? 0) + 1;
		target.changed = true;
	};

	/** Whether `profileId` may take one more identity of `type`. */
	const canTake = (
		profileId: string,
		type: string,
		limits: PlanEvent["limits"],
	): boolean => {
		const max = limits[type];
		if (max === undefined) return true;
		const target = node(profileId);
		if (!target.counts) throw new NeedsRead(profileId);
		if ((target.counts[type] ?? 0) + 1 > max) return false;
		if (!target.exact) throw new NeedsRead(profileId);
		return true;
	};

	/** The first limit merging `a` and `b` would break, or undefined when the merge is allowed. */
	const brokenLimit = (
		a: string,
		b: string,
		limits: PlanEvent["limits"],
	): { type: string; total: number; max: number } | undefined => {
		const na = node(a);
		const nb = node(b);
		if (!na.counts) throw new NeedsRead(a);
		if (!nb.counts) throw new NeedsRead(b);
		for (const [type, max] of Object.entries(limits)) {
			const total = (na.counts[type] ?? 0) + (nb.counts[type] ?? 0);
			// Counts from the cache are lower bounds: too many is certain, enough room is not.
			if (total > max) return { type, total, max };
		}
		if (!na.exact) throw new NeedsRead(a);
		if (!nb.exact) throw new NeedsRead(b);
		return undefined;
	};

	const merge = (a: string, b: string, event: PlanEvent): string => {
		const [survivor, absorbed] = older(node(a), node(b))
			? [node(a), node(b)]
			: [node(b), node(a)];
		parent.set(absorbed.id, survivor.id);
		survivor.counts = sumCounts(survivor.counts, absorbed.counts);
		survivor.changed = true;
		if (!absorbed.isNew)
			merges.push({
				survivorId: survivor.id,
				absorbedId: absorbed.id,
				sourceId: event.sourceId,
				messageId: event.messageId,
			});
		return survivor.id;
	};

	for (const event of events) {
		const { identifiers } = event;
		if (identifiers.length === 0) {
			assigned.push(undefined);
			continue;
		}
		const known: string[] = [];
		const unknown: Identifier[] = [];
		for (const identifier of identifiers) {
			const owner = ownerOf(identifier);
			if (owner === undefined) unknown.push(identifier);
			else if (!known.includes(owner)) known.push(owner);
		}

		const user = identifiers.find((id) => id.type === USER_ID);
		const userOwner = user ? ownerOf(user) : undefined;
		let anchor: string;
		if (userOwner !== undefined) anchor = userOwner;
		else if (user) {
			anchor = known.find((p) => canTake(p, USER_ID, event.limits)) ?? create();
			attach(user, anchor);
		} else anchor = known[0] ?? create();

		for (const other of known) {
			const a = find(anchor);
			const b = find(other);
			if (a === b) continue;
			const broken = brokenLimit(a, b, event.limits);
			if (broken)
				refusals.push({
					sourceId: event.sourceId,
					messageId: event.messageId,
					profileId: a,
					refusedProfileId: b,
					identifierType: broken.type,
					reason: `merging would give one profile ${broken.total} ${broken.type} identities (limit ${broken.max})`,
				});
			else anchor = merge(a, b, event);
		}

		for (const identifier of unknown) {
			if (ownerOf(identifier) !== undefined) continue;
			const a = find(anchor);
			if (canTake(a, identifier.type, event.limits)) attach(identifier, a);
			else
				refusals.push({
					sourceId: event.sourceId,
					messageId: event.messageId,
					profileId: a,
					refusedProfileId: "",
					identifierType: identifier.type,
					reason: `the profile already holds its limit of ${identifier.type} identities (${event.limits[identifier.type]})`,
				});
		}
		assigned.push(anchor);
	}

	const finalOwners = new Map<string, string>();
	for (const event of events)
		for (const identifier of event.identifiers) {
			const key = identityKey(identifier);
			const owner = owners.get(key);
			if (owner !== undefined) finalOwners.set(key, find(owner));
		}
	const counts = new Map<string, LimitCounts>();
	const changed: string[] = [];
	for (const n of nodes.values()) {
		if (find(n.id) !== n.id) continue;
		if (n.exact && n.counts) counts.set(n.id, n.counts);
		if (!n.isNew && n.changed) changed.push(n.id);
	}
	return {
		profiles: assigned.map((id) => (id === undefined ? undefined : find(id))),
		created: created.filter((id) => find(id) === id),
		attachments: attachments.map(({ identifier, profileId }) => ({
			identifier,
			profileId: find(profileId),
		})),
		merges: merges.map((m) => ({ ...m, survivorId: find(m.survivorId) })),
		refusals: refusals
			.map((r) => ({
				...r,
				profileId: find(r.profileId),
				refusedProfileId: r.refusedProfileId && find(r.refusedProfileId),
			}))
			.filter((r) => r.profileId !== r.refusedProfileId),
		guard,
		changed,
		counts,
		owners: finalOwners,
	};
}

/** Whether `a` should survive a merge with `b`: existing before new, then older, then smaller id. */
function older(a: Node, b: Node): boolean {
	if (a.isNew !== b.isNew) return !a.isNew;
	if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
	return a.id < b.id;
}

function sumCounts(
	a: LimitCounts | null,
	b: LimitCounts | null,
): LimitCounts | null {
	if (!a || !b) return null;
	const sum = { ...a };
	for (const [type, n] of Object.entries(b)) sum[type] = (sum[type] ?? 0) + n;
	return sum;
}
