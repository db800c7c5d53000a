import { loadConfig } from "../config/load";
import { keyString } from "../db/deliveries";
import {
	giveUpStatement,
	type InFlightBatch,
	markRequeued,
	stuckBatches,
} from "../db/delivery-batches";
import {
	type Failure,
	failureStates,
	upsertFailuresStatement,
} from "../db/delivery-failures";
import { profileKeyOf } from "../routing/route";
import { type DeadLetter, deadLetter } from "./dead-letter";
import { enqueueAll, itemsOf } from "./messages";
import { bodyOf } from "./rebuild";

/*
 * The sweeper — best effort, run by the every-minute cron. A batch of the delivery log that is
 * pending or retrying has a DELIVERIES message on its way; if that message is lost (or the
 * queue gave up on it after a consumer crashed), nothing else would ever look at the batch
 * again. The sweeper finds batches whose next look by the consumer (next_attempt_at: when it was
 * queued, when its retry is due, or when its hold ends) is long past, and queues the message
 * the batch keeps as its body again, under the same key. Re-queuing is idempotent: the consumer
 * skips a batch the log has as done and, in one tried before, sends only the events still
 * retrying; idempotency keys (from the messageId) let destinations drop a copy. A run that fails
 * part way leaves each batch either re-queued or untouched for the next run.
 */

/** A batch is stuck when its next look is this overdue: far beyond a queue's normal latency. */
export const STUCK_AFTER_MS = 5 * 60 * 1000;
/** How often the sweeper runs (the `* * * * *` cron). */
export const SWEEP_PERIOD_MS = 60 * 1000;
/**
 * Re-queues of a batch before the sweeper gives up on it (its events `dead`, dead-lettered,
 * replayable): a message lost once is re-sent, one that never gets through ends instead of
 * holding its profiles' later events back for ever.
 */
export const MAX_SWEEPS = 5;
/** Batches taken per run; the rest wait a minute. */
const SWEEP_LIMIT = 200;

export interface SweepResult {
	/** Events queued again, by destination id. */
	requeued: Record<string, number>;
	/** Events given up on (dead), by destination id. */
	gaveUp: Record<string, number>;
}

/**
 * Queues stuck batches again, and gives up on those swept {@link MAX_SWEEPS} times or whose
 * message is gone (their events still in flight get `dead` failure rows with the reason and are
 * dead-lettered, so a replay can still send them).
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
	const batches = await stuckBatches(env.DB, stuckBefore, SWEEP_LIMIT);
	if (batches.length === 0) return result;

	const again = new Map<number, InFlightBatch>();
	const dead: { batch: InFlightBatch; error: string }[] = [];
	for (const batch of batches) {
		if (!bodyOf(batch))
			dead.push({
				batch,
				error: `stuck in ${batch.status}, and its message is no longer stored`,
			});
		else if (batch.sweeps >= MAX_SWEEPS)
			dead.push({
				batch,
				error: `stuck in ${batch.status}: queued again ${batch.sweeps} times without an answer`,
			});
		else again.set(batch.id, batch);
	}

	const swept = await markRequeued(
		env.DB,
		[...again.keys()],
		{ sweep: true, stuckBefore },
		now,
	);
	const messages = swept.flatMap((id) => {
		const batch = again.get(id);
		const body = batch && bodyOf(batch);
		if (!batch || !body) return [];
		result.requeued[batch.destination_id] =
			(result.requeued[batch.destination_id] ?? 0) + itemsOf(body).length;
		return [body];
	});
	await enqueueAll(env.DELIVERIES, messages);

	for (const { batch, error } of dead)
		await giveUp(env, batch, error, stuckBefore, now, result);
	return result;
}

/**
 * Ends a stuck batch: its events still in flight (all of them if it was never tried, else those
 * retrying in it) get `dead` failure rows, in the same D1 batch that marks it done, and go to
 * the dead-letter queue.
 */
async function giveUp(
	env: Pick<Env, "DB" | "DELIVERIES_DLQ" | "CONFIG" | "CONFIG_CACHE_SECONDS">,
	batch: InFlightBatch,
	error: string,
	stuckBefore: Date,
	now: Date,
	result: SweepResult,
): Promise<void> {
	const body = bodyOf(batch);
	const items = body ? itemsOf(body) : [];
	const failures = await failureStates(
		env.DB,
		batch.destination_id,
		items.map((i) => [i.sourceId, i.event.messageId] as const),
	);
	const dying = items.flatMap((item) => {
		const failure = failures.get(
			keyString([item.sourceId, item.event.messageId]),
		);
		const inFlight =
			batch.attempts === 0
				? failure === undefined || failure.status === "retrying"
				: failure?.status === "retrying" &&
					failure.batchKey === batch.batch_key;
		return inFlight ? [{ item, attempts: failure?.attempts ?? 0 }] : [];
	});
	const deletion = body?.kind === "deletion" ? body.deletion : undefined;
	const rows: Failure[] = dying.map(({ item, attempts }) => ({
		sourceId: item.sourceId,
		messageId: item.event.messageId,
		kind: deletion ? "deletion" : "event",
		batchKey: batch.batch_key,
		profileKey: deletion ? deletion.profileId : profileKeyOf(item.event),
		eventTime: new Date(item.event.timestamp).toISOString(),
		status: "dead",
		attempts,
		lastError: error,
		...(batch.last_status !== null && { lastStatus: batch.last_status }),
		...(!deletion && { payload: JSON.stringify(item.event) }),
	}));
	// One transaction: the failure rows first, each statement only while the batch is still
	// stuck, so a consumer that settled it meanwhile keeps its own outcome.
	const [, ended] = await env.DB.batch([
		upsertFailuresStatement(env.DB, batch.destination_id, rows, now, {
			batchId: batch.id,
			stuckBefore,
		}),
		giveUpStatement(env.DB, [{ id: batch.id, error }], stuckBefore, now),
	]);
	if (!ended?.meta.changes || rows.length === 0) return;
	result.gaveUp[batch.destination_id] =
		(result.gaveUp[batch.destination_id] ?? 0) + rows.length;
	const config = await loadConfig(env);
	const letters: DeadLetter[] = dying.map(({ item, attempts }) => {
		const letter: DeadLetter = {
			destinationId: batch.destination_id,
			destinationType:
				config.destinationsById.get(batch.destination_id)?.type ?? "unknown",
			sourceId: item.sourceId,
			messageId: item.event.messageId,
			status: "dead",
			attempts,
			error,
			at: now.toISOString(),
		};
		if (batch.last_status !== null) letter.lastStatus = batch.last_status;
		if (deletion) letter.deletion = deletion;
		else letter.event = item.event;
		return letter;
	});
	await deadLetter(env, letters);
}
