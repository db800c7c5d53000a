import { pruneArchiveIndex } from "./archive/archive-index";
import { checkAudiences } from "./audiences/check";
import { pruneDeliveryLog } from "./db/deliveries";
import { pruneWindow } from "./db/seen";
import { runBackfills } from "./delivery/backfill-run";
import { forwardDeletions } from "./delivery/deletions";
import { sweepStuckDeliveries } from "./delivery/sweep";
import { deleteIdentityRecordsBefore } from "./identity/cleanup";
import { type FinishRun, finishErasures } from "./identity/finish-erasures";
import { drainSpool } from "./ingest/spool";
import { deletePartitionsBefore } from "./records/retention";

/** The cron triggers in wrangler.toml, and what each runs. */
export const CRONS = {
	/**
	 * Every minute: move messages spooled in D1 (while the queue refused them) to the queue;
	 * finish erasures (R2 rewrites, hashing deletion records); queue again delivery-log
	 * batches whose DELIVERIES message was lost (delivery/sweep.ts); evaluate the audiences of
	 * profiles whose next check is due (audiences/check.ts); prune a few key ranges of the
	 * deduplication window (db/seen.ts); advance running backfills by a few bounded steps
	 * (delivery/backfill-run.ts).
	 */
	drainSpool: "* * * * *",
	/**
	 * Hourly: delete events-of-record partitions, the delivery log's done batches and old failure rows, archive index rows, old identity
	 * refusals and expired suppressions; forward new profile deletions to destinations.
	 */
	retention: "17 * * * *",
} as const;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * The Worker's scheduled handler: dispatches on the cron expression that fired.
 *
 * @example
 * curl "http://localhost:8787/cdn-cgi/handler/scheduled?cron=17+*+*+*+*"   # under wrangler dev
 */
export async function runScheduled(
	controller: ScheduledController,
	env: Env,
): Promise<void> {
	if (controller.cron === CRONS.drainSpool) {
		const now = new Date(controller.scheduledTime);
		// Independent best-effort jobs: one failing does not stop the others.
		const windowHours = Math.max(1, Number(env.DEDUP_WINDOW_HOURS) || 48);
		const [drained, erasures, swept, audiences, pruned, backfills] =
			await Promise.allSettled([
				drainSpool(env.DB, env.EVENTS),
				finishErasures(env, now),
				sweepStuckDeliveries(env, now),
				checkAudiences(env, now),
				pruneWindow(env.DB, new Date(now.getTime() - windowHours * HOUR_MS)),
				runBackfills(env),
			]);
		if (audiences.status === "rejected" || audiences.value.checked > 0)
			report([["audiences checked", audiences]]);
		if (drained.status === "fulfilled" && drained.value > 0)
			console.log(
				JSON.stringify({ msg: "spool drained", moved: drained.value }),
			);
		// Logged when there was something to do: these run every minute.
		if (erasures.status === "rejected" || busy(erasures.value))
			report([["erasures finished", erasures]]);
		if (
			swept.status === "rejected" ||
			Object.keys({ ...swept.value.requeued, ...swept.value.gaveUp }).length > 0
		)
			report([["stuck deliveries swept", swept]]);
		if (
			pruned.status === "rejected" ||
			pruned.value.seen + pruned.value.messages > 0
		)
			report([["deduplication window pruned", pruned]]);
		if (backfills.status === "rejected" || backfills.value.steps > 0)
			report([["backfills advanced", backfills]]);
		if (drained.status === "rejected") throw drained.reason;
		return;
	}
	const days = Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
	const before = new Date(controller.scheduledTime - days * DAY_MS);
	const now = new Date(controller.scheduledTime);
	// Two independent best-effort jobs: one failing does not stop the other; the next run
	// picks up what was left.
	const [cleaned, forwarded] = await Promise.allSettled([
		(async () => ({
			days,
			records: await deletePartitionsBefore(env.RECORDS, before),
			deliveryLog: await pruneDeliveryLog(env.DB, before, now),
			archiveIndexRows: await pruneArchiveIndex(env.DB, before),
			identity: await deleteIdentityRecordsBefore(env.DB, before, now),
		}))(),
		forwardDeletions(env, now),
	]);
	report([
		["retention cleanup", cleaned],
		["deletions forwarded", forwarded],
	]);
}

function busy(run: FinishRun): boolean {
	return (
		Object.keys(run.archive.objects).length > 0 ||
		run.hashed + run.lateDeliveryRows + run.completed > 0
	);
}

/** Logs each job's outcome as one JSON line. */
function report(
	jobs: readonly (readonly [string, PromiseSettledResult<object>])[],
): void {
	for (const [job, result] of jobs) {
		if (result.status === "fulfilled")
			console.log(JSON.stringify({ msg: job, ...result.value }));
		else
			console.error(
				JSON.stringify({ msg: `${job} failed`, error: String(result.reason) }),
			);
	}
}
