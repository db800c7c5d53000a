import { audienceBackfillStep } from "../audiences/backfill";
import { loadConfig } from "../config/load";
import type { LoadedConfig } from "../config/schema";
import {
	advanceBackfill,
	type Backfill,
	endBackfill,
	getBackfill,
	leaseBackfill,
	releaseBackfill,
	runningBackfills,
} from "../db/backfills";
import { errorText } from "../errors";
import {
	DEFAULT_SCAN_BUDGET,
	type ScanBudget,
	type ScanStep,
	scanStep,
} from "../records/scan";
import { BackfillStopped, sendBackfillStep } from "./backfill";

/*
 * The backfill runner: advances running jobs one bounded step at a time. The minute cron calls
 * it (cron.ts), and `POST /admin/backfills` calls it once in the background for the job it
 * created, so a small backfill is done in seconds and a large one goes on every minute without
 * any message that could be lost: the job's row is the whole state.
 *
 * A step: take the job's lease (another runner holding it skips the job), read the next objects
 * from the job's cursor (records/scan.ts), queue their work (the kind's handler), then record
 * the step — counts and the new cursor — guarded by the cursor the step started from
 * (db/backfills.ts). A step that fails leaves the cursor where it was, keeps the error on the
 * job and lets the lease go; the next run does it again. A job whose destination is gone fails.
 *
 * Failure rule: best effort per job — one job's failure never stops another's step.
 */

/** A runner holds a job this long at most; a runner that died is replaced after it. */
const LEASE_MS = 2 * 60_000;

/** What one call does at most. */
export interface RunBudget {
	/** Steps over all jobs. */
	steps: number;
	/** Wall-clock time; no step starts after it. */
	ms: number;
	scan: ScanBudget;
}

/**
 * A cron invocation's share: 10 steps of about 20 objects, and no new step after 20 s (a cron
 * invocation may use 30 s of CPU by default; most of a step is waiting on R2, D1 and the queue).
 */
export const DEFAULT_RUN_BUDGET: RunBudget = {
	steps: 10,
	ms: 20_000,
	scan: DEFAULT_SCAN_BUDGET,
};

/**
 * A kind's work for a step: how many events it queued or applied, and whether it recorded the
 * step itself (an audience backfill writes its progress in the same D1 batch as its states;
 * `false`: another run recorded it first), or why the job must stop.
 */
export type StepHandler = (
	env: Env,
	config: LoadedConfig,
	job: Backfill,
	step: ScanStep,
	now: Date,
) => Promise<{ sent: number; recorded?: boolean } | { stopped: string }>;

/** Each kind's handler. */
const HANDLERS: Record<Backfill["kind"], StepHandler> = {
	destination: async (env, config, job, step, now) => ({
		sent: await sendBackfillStep(env, config, job, step.events, now),
	}),
	audience: audienceBackfillStep,
};

/** What a call did. */
export interface BackfillRun {
	steps: number;
	finished: number[];
	failed: number[];
	/** Steps that threw and will be tried again, with the error. */
	errors: { id: number; error: string }[];
}

/**
 * Advances running jobs (all of them, or the listed ids), taking turns, until each is finished
 * or the budget is spent.
 *
 * @example
 * await runBackfills(env) // { steps: 3, finished: [4], failed: [], errors: [] }
 */
export async function runBackfills(
	env: Env,
	options: { ids?: number[]; budget?: RunBudget } = {},
): Promise<BackfillRun> {
	const budget = options.budget ?? DEFAULT_RUN_BUDGET;
	const run: BackfillRun = { steps: 0, finished: [], failed: [], errors: [] };
	let active = options.ids ?? (await runningBackfills(env.DB, 20));
	if (active.length === 0) return run;
	const config = await loadConfig(env);
	const deadline = Date.now() + budget.ms;
	while (active.length > 0 && run.steps < budget.steps) {
		const next: number[] = [];
		for (const id of active) {
			if (run.steps >= budget.steps || Date.now() >= deadline) return run;
			run.steps++;
			const outcome = await stepOnce(env, config, id, budget.scan);
			if (outcome === "more") next.push(id);
			else if (outcome === "done") run.finished.push(id);
			else if (outcome === "failed") run.failed.push(id);
			else if (typeof outcome === "object")
				run.errors.push({ id, error: outcome.error });
		}
		active = next;
	}
	return run;
}

type Outcome = "more" | "done" | "failed" | "busy" | { error: string };

async function stepOnce(
	env: Env,
	config: LoadedConfig,
	id: number,
	scanBudget: ScanBudget,
): Promise<Outcome> {
	const now = new Date();
	const job = await leaseBackfill(
		env.DB,
		id,
		now,
		new Date(now.getTime() + LEASE_MS),
	);
	if (!job) return "busy";
	try {
		const notBefore = job.detail.notBefore;
		if (
			typeof notBefore === "string" &&
			Date.parse(notBefore) > now.getTime()
		) {
			// Waiting for late events to be stored (audiences/definitions.ts).
			await releaseBackfill(env.DB, job.id, null);
			return "busy";
		}
		const step = await scanStep(
			env.RECORDS,
			{ from: new Date(job.from), to: new Date(job.to), sources: job.sources },
			job.cursor,
			scanBudget,
		);
		const result = await HANDLERS[job.kind](env, config, job, step, now);
		if ("stopped" in result) throw new BackfillStopped(result.stopped);
		const recorded =
			result.recorded ??
			(await advanceBackfill(
				env.DB,
				job,
				{
					cursor: step.cursor,
					objects: step.objects,
					read: step.events.length,
					sent: result.sent,
					done: step.done,
				},
				new Date(),
			));
		// Not recorded: another runner did this step after our lease ran out; it counted.
		if (!recorded) return "busy";
		const after = await getBackfill(env.DB, job.id);
		return after?.status === "done" ? "done" : "more";
	} catch (error) {
		if (error instanceof BackfillStopped) {
			await endBackfill(env.DB, job.id, "failed", error.message, new Date());
			return "failed";
		}
		await releaseBackfill(env.DB, job.id, errorText(error));
		return { error: errorText(error) };
	}
}
