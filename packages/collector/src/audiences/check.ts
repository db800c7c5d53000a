import { loadConfig } from "../config/load";
import { liveDefinitions } from "./definitions";
import { commit, settle } from "./settle";
import { planOf } from "./stage";
import { dueStates, isStateConflict, pruneTransitions } from "./store";

/*
 * The minute check (cron.ts, every minute) — best effort: conditions that turn with time alone
 * (a window moving on, a trigger's wait ending, its exit time) are evaluated for the profiles
 * whose next check is due. A page that loses a race with the consumer is left for the next
 * minute (the consumer evaluated those profiles anyway); any other failure is reported by the
 * cron and retried a minute later. With the cron every minute, an entry fires at most about a
 * minute after its condition became true, plus the time its events take through the queue.
 */

/** Profiles per page, and pages per run: 2,500 due profiles a minute at most. */
const PAGE = 250;
const PAGES = 10;
/** Transitions are kept this long: the admin API counts the last 24 hours. */
const KEEP_TRANSITIONS_MS = 2 * 86_400_000;

/** What one minute check did. */
export interface CheckRun {
	checked: number;
	transitions: number;
	/** Pages left for the next minute because a consumer wrote the same profiles meanwhile. */
	raced: number;
	pruned: number;
}

/**
 * Evaluates the profiles whose next check is due at `now` (see the rules above).
 *
 * @example
 * await checkAudiences(env, new Date(controller.scheduledTime))
 */
export async function checkAudiences(
	env: Pick<
		Env,
		"DB" | "EVENTS" | "CONFIG" | "CONFIG_CACHE_SECONDS" | "EVENT_RETENTION_DAYS"
	>,
	now: Date,
): Promise<CheckRun> {
	const run: CheckRun = { checked: 0, transitions: 0, raced: 0, pruned: 0 };
	const config = await loadConfig(env);
	// Only audiences change with time alone: computed traits are read at the time asked.
	if (!config.config.audiences) return run;
	const compiled = planOf(config);
	// Audiences held for a backfill are left to it (definitions.ts).
	const { plan } = await liveDefinitions(env, config, compiled, now);
	for (let page = 0; page < PAGES; page++) {
		const due = await dueStates(env.DB, now, PAGE);
		if (due.length === 0) break;
		const settled = await settle(
			plan,
			due.map((d) => ({ ...d, absorbed: [] })),
			now,
		);
		try {
			await commit(env, env.DB, plan, settled, now);
		} catch (error) {
			if (!isStateConflict(error)) throw error;
			run.raced++;
			break;
		}
		run.checked += due.length;
		run.transitions += settled.write.transitions.length;
		if (due.length < PAGE) break;
	}
	run.pruned = await pruneTransitions(
		env.DB,
		new Date(now.getTime() - KEEP_TRANSITIONS_MS),
	);
	return run;
}
