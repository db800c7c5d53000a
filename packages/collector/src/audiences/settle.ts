import type { EnrichedEvent } from "../event";
import { enqueueActivations, transition } from "./activation";
import { evaluate } from "./evaluate";
import type { AudiencePlan, CompiledAudience } from "./plan";
import { mergeStates, type ProfileState } from "./state";
import { type StateWrite, type StoredState, writeStatements } from "./store";

/*
 * What the consumer stage and the minute check share: evaluate each profile's state at a
 * moment, turn changed memberships into transitions and activation events, then queue the
 * events and write the states, guarded, in one D1 batch.
 *
 * The events are queued before the states are written. If the write then fails (a lost race,
 * D1 down) the same transitions are computed again with the same messageIds, which storage
 * deduplicates; the other order could record an entry whose events were never sent.
 */

/** One profile to settle: its state (already updated with new events) and what it read. */
export interface Work {
	profileId: string;
	/** The version read (0 when the profile had no state). */
	version: number;
	state: ProfileState;
	/** States merged into this profile since it was last written; combined here. */
	absorbed: readonly StoredState[];
}

/** What a backfill changes in {@link settle}: which audiences move, and which of them announce it. */
export interface SettleOptions {
	/** Only these audiences' memberships change (default: all of the plan's). */
	only?: ReadonlySet<string>;
	/** Whether an audience's entries and exits are sent (default: all are). */
	emit?: (audience: CompiledAudience) => boolean;
}

/** A settled batch, ready to commit. */
export interface Settled {
	write: StateWrite;
	events: EnrichedEvent[];
	/** The new state and version of each profile, for the caller's cache. */
	states: { profileId: string; version: number; state: ProfileState }[];
}

/**
 * Combines merged states, evaluates every audience at `now` (or those `options.only` names),
 * and prepares the write.
 *
 * @example
 * const settled = await settle(plan, works, new Date());
 * await commit(env, plan, settled, new Date());
 */
export async function settle(
	plan: AudiencePlan,
	works: readonly Work[],
	now: Date,
	options: SettleOptions = {},
): Promise<Settled> {
	const settled: Settled = {
		write: { guard: [], states: [], dropped: [], carried: [], transitions: [] },
		events: [],
		states: [],
	};
	for (const work of works) {
		let state = work.state;
		settled.write.guard.push([work.profileId, work.version]);
		for (const absorbed of work.absorbed) {
			state = mergeStates(state, absorbed.state, plan);
			settled.write.guard.push([absorbed.profileId, absorbed.version]);
			settled.write.dropped.push(absorbed.profileId);
		}
		if (work.absorbed.length > 0)
			// Memberships the survivor takes over without an entry of its own.
			for (const [key, [inside, , since]] of Object.entries(state.m))
				if (inside === 1)
					settled.write.carried.push({
						audienceKey: key,
						profileId: work.profileId,
						enteredAt: since,
					});
		const { members, nextCheckMs } = evaluate(state, plan, now.getTime());
		for (const audience of plan.audiences) {
			if (options.only && !options.only.has(audience.key)) continue;
			const activation = await transition(
				state,
				work.profileId,
				audience,
				members.has(audience.key),
				now,
			);
			if (!activation) continue;
			settled.write.transitions.push(activation.row);
			if (options.emit?.(audience) ?? true)
				settled.events.push(...activation.events);
		}
		const version = work.version + 1;
		settled.write.states.push({
			profileId: work.profileId,
			version,
			state,
			nextCheckAt:
				nextCheckMs === undefined ? null : new Date(nextCheckMs).toISOString(),
		});
		settled.states.push({ profileId: work.profileId, version, state });
	}
	return settled;
}

/**
 * Queues the activation events, then writes the states in one guarded D1 batch (one round
 * trip). Throws what D1 throws: `isStateConflict` tells a lost race from a failure.
 *
 * @example
 * await commit(env, plan, settled, new Date())
 */
export async function commit(
	env: Pick<Env, "DB" | "EVENTS">,
	db: D1Database,
	plan: AudiencePlan,
	settled: Settled,
	now: Date,
): Promise<void> {
	await enqueueActivations(env.EVENTS, plan.source, settled.events);
	if (settled.write.states.length === 0) return;
	await db.batch(writeStatements(db, settled.write, now));
}
