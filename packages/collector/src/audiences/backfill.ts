import type { LoadedConfig } from "../config/schema";
import {
	advanceStatements,
	type Backfill,
	isCursorConflict,
} from "../db/backfills";
import type { EnrichedEvent } from "../event";
import type { ScanStep } from "../records/scan";
import { enqueueActivations } from "./activation";
import { type AudienceBackfillDetail, releaseStatement } from "./definitions";
import { evaluate } from "./evaluate";
import { settle } from "./settle";
import { planOf } from "./stage";
import { applyHistory, emptyState, type ProfileState } from "./state";
import {
	isStateConflict,
	readStates,
	type StateWrite,
	statesAfter,
	writeStatements,
} from "./store";

/*
 * Audience backfill: a job of kind `audience` (registered by definitions.ts when the config
 * brings new or changed definitions) computes them from the events of record, in two phases:
 *
 * 1. count: each step's stored events (received before the activation, within the longest
 *    window the new aggregates need) are added to the new aggregates of their profiles' states
 *    (state.ts `applyHistory`), never to other aggregates, which counted them live;
 * 2. evaluate: every profile with a state is evaluated, a page at a time, for the new audiences
 *    only. Entries and exits are recorded; their activation events are queued only for an
 *    audience with `sendOnBackfill`. The last page releases the audiences to the live path.
 *
 * Failure rule: must pass per step, exactly once. A step's state writes and its progress (the
 * job's cursor) are one D1 batch that fails unless the cursor is still the one the step started
 * from (db/backfills.ts), so an event is counted once however often a step is run; a batch
 * that loses a race with the live path (a state changed since it was read) reads again.
 */

/** Profiles a step of the evaluate phase reads. */
const PAGE = 250;
const MAX_ATTEMPTS = 4;

/** What a step did, as data: what it applied and whether its progress is recorded. */
export type AudienceStepResult =
	| { sent: number; recorded: boolean }
	| { stopped: string };

/**
 * One step of an audience backfill: counts the scan step's events into the new aggregates, or,
 * once the scan is done, evaluates a page of profiles. Records its own progress (with
 * `advanceStatements`); `recorded: false` means another run recorded this step first.
 *
 * @example
 * await audienceBackfillStep(env, config, job, step, new Date()) // { sent: 120, recorded: true }
 */
export async function audienceBackfillStep(
	env: Pick<Env, "DB" | "EVENTS">,
	config: LoadedConfig,
	job: Backfill,
	step: ScanStep,
	now: Date,
): Promise<AudienceStepResult> {
	if (!config.config.audiences)
		return { stopped: "the config no longer defines audiences" };
	const plan = planOf(config);
	const detail = job.detail as unknown as AudienceBackfillDetail;
	for (let attempt = 1; ; attempt++) {
		try {
			if (job.cursor.source < job.sources.length)
				return await count(env.DB, plan, job, detail, step, now);
			return await evaluatePage(env, plan, job, detail, now);
		} catch (error) {
			if (isCursorConflict(error)) return { sent: 0, recorded: false };
			if (!isStateConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
		}
	}
}

async function count(
	db: D1Database,
	plan: ReturnType<typeof planOf>,
	job: Backfill,
	detail: AudienceBackfillDetail,
	step: ScanStep,
	now: Date,
): Promise<AudienceStepResult> {
	// A definition changed again since this job began is another job's: this one skips it.
	const aggregates = plan.tracked.filter((t) =>
		detail.aggregates.some((a) => a.id === t.id && a.hash === t.hash),
	);
	const byProfile = new Map<string, EnrichedEvent[]>();
	for (const { sourceId, event } of step.events) {
		const profileId = event.context.profileId;
		if (typeof profileId !== "string" || sourceId === plan.source) continue;
		byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), event]);
	}
	const nowMs = now.getTime();
	const works = new Map<string, { version: number; state: ProfileState }>();
	let applied = 0;
	if (byProfile.size > 0 && aggregates.length > 0) {
		const read = await readStates(db, [...byProfile.keys()], [], []);
		for (const [profileId, events] of byProfile) {
			const live = read.live.get(profileId) ?? profileId;
			let work = works.get(live);
			if (!work) {
				const stored = read.states.get(live);
				work = {
					version: stored?.version ?? 0,
					state: stored?.state ?? emptyState(),
				};
				works.set(live, work);
			}
			for (const event of events)
				if (applyHistory(work.state, event, aggregates, nowMs) > 0) applied++;
		}
	}
	const write: StateWrite = {
		guard: [...works].map(([id, w]) => [id, w.version]),
		states: [...works].map(([profileId, w]) => {
			const next = evaluate(w.state, plan, nowMs).nextCheckMs;
			return {
				profileId,
				version: w.version + 1,
				state: w.state,
				nextCheckAt: next === undefined ? null : new Date(next).toISOString(),
			};
		}),
		dropped: [],
		carried: [],
		transitions: [],
	};
	await db.batch([
		...advanceStatements(
			db,
			job,
			{
				// The evaluate phase follows the last source: its cursor is a profile id.
				cursor: step.done
					? { source: job.sources.length, after: "" }
					: step.cursor,
				objects: step.objects,
				read: step.events.length,
				sent: applied,
				done: false,
			},
			now,
		),
		...(works.size > 0 ? writeStatements(db, write, now) : []),
	]);
	return { sent: applied, recorded: true };
}

async function evaluatePage(
	env: Pick<Env, "DB" | "EVENTS">,
	plan: ReturnType<typeof planOf>,
	job: Backfill,
	detail: AudienceBackfillDetail,
	now: Date,
): Promise<AudienceStepResult> {
	const page = await statesAfter(env.DB, job.cursor.after, PAGE);
	const only = new Set(detail.audiences);
	const settled = await settle(
		plan,
		page.map((p) => ({ ...p, absorbed: [] })),
		now,
		{ only, emit: (audience) => audience.sendOnBackfill },
	);
	// Queued before the write, as the live path does: a write that fails is done again with
	// the same transitions and messageIds, which storage deduplicates.
	await enqueueActivations(env.EVENTS, plan.source, settled.events);
	const done = page.length < PAGE;
	await env.DB.batch([
		...advanceStatements(
			env.DB,
			job,
			{
				cursor: {
					source: job.cursor.source,
					after: page.at(-1)?.profileId ?? job.cursor.after,
				},
				objects: 0,
				read: 0,
				sent: 0,
				done,
			},
			now,
		),
		...(page.length > 0 ? writeStatements(env.DB, settled.write, now) : []),
		...(done ? [releaseStatement(env.DB, job.id, detail.audiences)] : []),
	]);
	return { sent: 0, recorded: true };
}
