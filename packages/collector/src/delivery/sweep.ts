import { loadConfig } from "../config/load";
import {
	type LoggedWork,
	markStuckDead,
	markSwept,
	stuckDeliveries,
} from "../db/deliveries";
import { type DeadLetter, deadLetter } from "./dead-letter";
import { enqueueAll } from "./messages";
import { type Rebuilt, rebuild, requeueMessages } from "./rebuild";

/*
 * The sweeper — best effort, run by the every-minute cron. A delivery-log row that is pending
 * or retrying has a DELIVERIES message on its way; if that message is lost (or the queue gave
 * up on it after a consumer crashed), nothing else would ever look at the row again. The
 * sweeper finds rows whose next look by the consumer (next_attempt_at: when it was queued, when
 * its retry is due, or when its hold ends) is long past, and queues them again, rebuilt from
 * the stored event or deletion record. Re-queuing is idempotent: the consumer skips what the
 * log has as final, and idempotency keys (from the messageId) let destinations drop a copy.
 * A run that fails part way leaves each row either re-queued or untouched for the next run.
 */

/** A row is stuck when its next look is this overdue: far beyond a queue's normal latency. */
export const STUCK_AFTER_MS = 5 * 60 * 1000;
/** How often the sweeper runs (the `* * * * *` cron). */
export const SWEEP_PERIOD_MS = 60 * 1000;
/**
 * Re-queues of a row before the sweeper gives up on it (`dead`, dead-lettered, replayable): a
 * message lost once is re-sent, one that never gets through ends instead of holding its
 * profile's later events back for ever.
 */
export const MAX_SWEEPS = 5;
/** Rows taken per run; the rest wait a minute. */
const SWEEP_LIMIT = 1000;

export interface SweepResult {
	/** Rows queued again, by destination id. */
	requeued: Record<string, number>;
	/** Rows given up on (dead), by destination id. */
	gaveUp: Record<string, number>;
}

/**
 * Queues stuck delivery-log rows again, and gives up on those swept {@link MAX_SWEEPS} times
 * or whose event is gone (marked `dead` with the reason and dead-lettered, so a replay can
 * still send them).
 *
 * @example
 * await sweepStuckDeliveries(env, new Date()) // { requeued: { hooks: 3 }, gaveUp: {} }
 */
export async function sweepStuckDeliveries(
	env: Pick<
		Env,
		"DB" | "DELIVERIES" | "DELIVERIES_DLQ" | "CONFIG" | "CONFIG_CACHE_SECONDS"
	>,
	now: Date,
): Promise<SweepResult> {
	const result: SweepResult = { requeued: {}, gaveUp: {} };
	const stuckBefore = new Date(now.getTime() - STUCK_AFTER_MS);
	const rows = await stuckDeliveries(env.DB, stuckBefore, SWEEP_LIMIT);
	if (rows.length === 0) return result;
	const config = await loadConfig(env);

	const again = new Map<number, { row: LoggedWork; work: Rebuilt }>();
	const dead: { row: LoggedWork; work?: Rebuilt; error: string }[] = [];
	for (const row of rows) {
		const work = rebuild(row);
		if (!work)
			dead.push({
				row,
				error: `stuck in ${row.status}, and its ${row.kind === "deletion" ? "deletion record" : "event"} is no longer stored`,
			});
		else if (row.sweeps >= MAX_SWEEPS)
			dead.push({
				row,
				work,
				error: `stuck in ${row.status}: queued again ${row.sweeps} times without an answer`,
			});
		else again.set(row.id, { row, work });
	}

	const swept = await markSwept(env.DB, [...again.keys()], stuckBefore, now);
	const byDestination = new Map<string, Rebuilt[]>();
	for (const id of swept) {
		const found = again.get(id);
		if (!found) continue;
		const destinationId = found.row.destination_id;
		byDestination.set(destinationId, [
			...(byDestination.get(destinationId) ?? []),
			found.work,
		]);
	}
	await enqueueAll(
		env.DELIVERIES,
		[...byDestination].flatMap(([destinationId, work]) => {
			result.requeued[destinationId] = work.length;
			return requeueMessages(
				destinationId,
				config.destinationsById.get(destinationId)?.batchSize,
				work,
			);
		}),
	);

	const ended = new Set(
		await markStuckDead(
			env.DB,
			dead.map(({ row, error }) => ({ id: row.id, error })),
			stuckBefore,
			now,
		),
	);
	const letters: DeadLetter[] = [];
	for (const { row, work, error } of dead) {
		if (!ended.has(row.id)) continue;
		result.gaveUp[row.destination_id] =
			(result.gaveUp[row.destination_id] ?? 0) + 1;
		const letter: DeadLetter = {
			destinationId: row.destination_id,
			destinationType:
				config.destinationsById.get(row.destination_id)?.type ?? "unknown",
			sourceId: row.source_id,
			messageId: row.message_id,
			status: "dead",
			attempts: row.attempts,
			error,
			at: now.toISOString(),
		};
		if (row.last_status !== null) letter.lastStatus = row.last_status;
		if (work?.kind === "event") letter.event = work.item.event;
		if (work?.kind === "deletion") letter.deletion = work.deletion;
		letters.push(letter);
	}
	await deadLetter(env, letters);
	return result;
}
