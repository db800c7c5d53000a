import {
	type BatchUpdate,
	insertBatchesStatements,
	type NewBatch,
	settleBatchesStatement,
} from "../db/delivery-batches";
import {
	deleteFailuresStatement,
	type Failure,
	recoveredStatement,
	upsertFailuresStatement,
} from "../db/delivery-failures";
import { disableDestination } from "../db/destination-state";
import { profileKeyOf } from "../routing/route";
import { contentKey } from "./batch-key";
import { type DeadLetter, deadLetter } from "./dead-letter";
import { newBatch } from "./fanout";
import { type DeliveryMessage, enqueueAll } from "./messages";
import type { Batch, Decision, Work } from "./work";

/** What became of a batch: done, or its message is to come back after `retryInSeconds`. */
export type BatchOutcome =
	| { status: "done" }
	| { status: "retrying"; retryInSeconds: number };

/**
 * Writes what a consumer run did, in one D1 batch (a transaction), then acts on it: logs a
 * batch the consumer saw before fan-out logged it; writes a failure row for each event retrying,
 * failed, dead or dropped, marks it `delivered` for one delivered at last and deletes it for one
 * erased; moves held events into a
 * batch of their own (logged with its message, queued again after the hold), and so too the
 * events of a request to retry that was not its batch's only request (see `movedRequests`);
 * settles each batch (done, or retrying after the longest delay its events need; a done batch
 * drops its body). Then it dead-letters what failed for good, queues the new batches and
 * switches the destination off after a 410. Returns each batch's outcome, by key.
 *
 * New batches are queued after the log is written and before any message is acked: if queueing
 * fails, this throws and the messages are retried (their batches are done and are skipped),
 * while the new batches' rows are in flight for the sweeper to queue.
 *
 * @example
 * const outcomes = await recordGroup(env, "hooks", "webhook", batches, work, decisions, requests, Date.now());
 */
export async function recordGroup(
	env: Env,
	destinationId: string,
	destinationType: string,
	batches: readonly Batch[],
	work: ReadonlyMap<string, Work>,
	decisions: ReadonlyMap<string, Decision>,
	requests: ReadonlyMap<string, number>,
	at: number,
): Promise<Map<string, BatchOutcome>> {
	const now = new Date(at);
	const moved = await movedRequests(
		destinationId,
		batches,
		work,
		decisions,
		requests,
		at,
	);
	const movedTo = new Map(
		moved.flatMap((m) => m.keys.map((key) => [key, m.message.batch] as const)),
	);
	const failures: Failure[] = [];
	const erased: (readonly [string, string])[] = [];
	const recovered: {
		sourceId: string;
		messageId: string;
		attempts: number;
		lastStatus?: number;
	}[] = [];
	const letters: DeadLetter[] = [];
	let gone: string | undefined;
	for (const w of work.values()) {
		const d = decisions.get(w.key);
		if (!d) continue;
		const eventKey = [w.item.sourceId, w.item.event.messageId] as const;
		if (d.status === "erased" && w.failure) erased.push(eventKey);
		if (d.status === "delivered" && w.failure)
			recovered.push({
				sourceId: eventKey[0],
				messageId: eventKey[1],
				attempts: d.attempts,
				...(d.lastStatus !== undefined && { lastStatus: d.lastStatus }),
			});
		if (
			d.status !== "retrying" &&
			d.status !== "failed" &&
			d.status !== "dead" &&
			d.status !== "dropped"
		)
			continue;
		failures.push(failureOf(w, d, movedTo.get(w.key)));
		if (d.disable) gone = d.error;
		if (d.status === "failed" || d.status === "dead")
			letters.push(letterOf(w, d, destinationId, destinationType, now));
	}

	const held = await heldBatches(destinationId, batches, work, decisions, at);
	const outcomes = new Map<string, BatchOutcome>();
	const updates: BatchUpdate[] = [];
	for (const batch of batches) {
		if (batch.state?.status === "done") continue;
		const mine = batch.live.flatMap((key) => {
			const d = decisions.get(key);
			return d ? [d] : [];
		});
		const retryIn = batch.live.flatMap((key) => {
			const d = decisions.get(key);
			return d?.status === "retrying" && !movedTo.has(key)
				? [d.delaySeconds ?? 0]
				: [];
		});
		const outcome: BatchOutcome =
			retryIn.length > 0
				? { status: "retrying", retryInSeconds: Math.max(...retryIn) }
				: { status: "done" };
		outcomes.set(batch.key, outcome);
		const worst = mine.find(
			(d) => d.status !== "delivered" && "attempts" in d && d.error,
		);
		const last = worst ?? mine.find((d) => d.status === "delivered");
		const update: BatchUpdate = {
			key: batch.key,
			status: outcome.status,
			sent: mine.some(
				(d) =>
					d.status === "delivered" ||
					d.status === "retrying" ||
					d.status === "failed" ||
					d.status === "dead",
			),
			delivered: mine.filter((d) => d.status === "delivered").length,
		};
		if (last && "attempts" in last) {
			if (last.lastStatus !== undefined) update.lastStatus = last.lastStatus;
			if (last.error !== undefined) update.lastError = last.error;
		}
		if (outcome.status === "retrying")
			update.nextAttemptAt = new Date(at + outcome.retryInSeconds * 1000);
		updates.push(update);
	}

	const unlogged: NewBatch[] = batches
		.filter((b) => !b.state)
		.map((b) => newBatch(b.body));
	const queued = [...held, ...moved];
	const newRows = [...unlogged, ...queued.map((h) => h.row)];
	const statements: D1PreparedStatement[] = [];
	if (newRows.length > 0)
		statements.push(...insertBatchesStatements(env.DB, newRows, now));
	if (failures.length > 0)
		statements.push(
			upsertFailuresStatement(env.DB, destinationId, failures, now),
		);
	if (recovered.length > 0)
		statements.push(recoveredStatement(env.DB, destinationId, recovered, now));
	if (erased.length > 0)
		statements.push(deleteFailuresStatement(env.DB, destinationId, erased));
	if (updates.length > 0)
		statements.push(settleBatchesStatement(env.DB, updates, now));
	if (statements.length > 0) await env.DB.batch(statements);

	await deadLetter(env, letters);
	await Promise.all(
		queued.map((h) => enqueueAll(env.DELIVERIES, [h.message], h.delaySeconds)),
	);
	if (gone) await disableDestination(env.DB, destinationId, gone, now);
	return outcomes;
}

/** A batch and message of its own for some events, queued after `delaySeconds`. */
interface OwnBatch {
	keys: string[];
	row: NewBatch;
	message: DeliveryMessage & { batch: string };
	delaySeconds: number;
}

/**
 * Moves events to a batch of their own, keyed by their content and `salt` (derived from the
 * batches they leave, so that a run repeated after a crash moves them to the same batch).
 */
async function ownBatch(
	destinationId: string,
	part: readonly Work[],
	salt: string,
	delaySeconds: number,
	at: number,
): Promise<OwnBatch> {
	const items = part.map((w) => w.item);
	const message = {
		kind: "events" as const,
		destinationId,
		items,
		batch: await contentKey(destinationId, items, salt),
	};
	return {
		keys: part.map((w) => w.key),
		row: newBatch(message, new Date(at + delaySeconds * 1000)),
		message,
		delaySeconds,
	};
}

/** Held events, per batch they came in, as a batch of their own queued after the longest hold. */
async function heldBatches(
	destinationId: string,
	batches: readonly Batch[],
	work: ReadonlyMap<string, Work>,
	decisions: ReadonlyMap<string, Decision>,
	at: number,
): Promise<OwnBatch[]> {
	const held = [];
	for (const batch of batches) {
		const part: Work[] = [];
		let delaySeconds = 0;
		for (const key of batch.live) {
			const d = decisions.get(key);
			const w = work.get(key);
			if (d?.status !== "held" || !w) continue;
			part.push(w);
			delaySeconds = Math.max(delaySeconds, d.delaySeconds);
		}
		if (part.length > 0)
			held.push(
				await ownBatch(
					destinationId,
					part,
					`held:${batch.key}`,
					delaySeconds,
					at,
				),
			);
	}
	return held;
}

/**
 * The requests to retry that their batch's retry would not send again as they were: a request
 * holding events of several batches, or one of several requests of a batch. Each becomes a
 * batch of its own, with exactly the request's events, queued after their retry delay; the
 * batches they leave are done with them. A request that held all its batch's events to retry,
 * and no other batch's, stays with its batch, which is retried as it is (group.ts sends a
 * retried batch's events apart from all others).
 */
async function movedRequests(
	destinationId: string,
	batches: readonly Batch[],
	work: ReadonlyMap<string, Work>,
	decisions: ReadonlyMap<string, Decision>,
	requests: ReadonlyMap<string, number>,
	at: number,
): Promise<OwnBatch[]> {
	const retrying = new Map<number, Work[]>();
	const perBatch = new Map<string, number>();
	for (const batch of batches)
		for (const key of batch.live) {
			const request = requests.get(key);
			const w = work.get(key);
			if (request === undefined || !w) continue;
			if (decisions.get(key)?.status !== "retrying") continue;
			const part = retrying.get(request);
			if (part) part.push(w);
			else retrying.set(request, [w]);
			perBatch.set(batch.key, (perBatch.get(batch.key) ?? 0) + 1);
		}
	const moved = [];
	for (const part of retrying.values()) {
		const from = [...new Set(part.map((w) => w.batch.key))];
		if (from.length === 1 && perBatch.get(from[0] ?? "") === part.length)
			continue;
		const delaySeconds = Math.max(
			...part.map((w) => {
				const d = decisions.get(w.key);
				return d?.status === "retrying" ? (d.delaySeconds ?? 0) : 0;
			}),
		);
		moved.push(
			await ownBatch(
				destinationId,
				part,
				`retry:${from.sort().join(" ")}`,
				delaySeconds,
				at,
			),
		);
	}
	return moved;
}

function failureOf(
	w: Work,
	d: Extract<Decision, { attempts: number }>,
	batchKey = w.batch.key,
): Failure {
	const body = w.batch.body;
	const deletion = body.kind === "deletion";
	const failure: Failure = {
		sourceId: w.item.sourceId,
		messageId: w.item.event.messageId,
		kind: deletion ? "deletion" : "event",
		batchKey,
		profileKey: deletion ? body.deletion.profileId : profileKeyOf(w.item.event),
		eventTime: new Date(w.item.event.timestamp).toISOString(),
		status: d.status as Failure["status"],
		attempts: d.attempts,
	};
	if (d.lastStatus !== undefined) failure.lastStatus = d.lastStatus;
	if (d.error !== undefined) failure.lastError = d.error;
	// Replay and the dead-letter path send the event again from here; a dropped event is never
	// replayed, and a deletion is rebuilt from its record.
	if (!deletion && d.status !== "dropped")
		failure.payload = JSON.stringify(w.item.event);
	return failure;
}

function letterOf(
	w: Work,
	d: Extract<Decision, { attempts: number }>,
	destinationId: string,
	destinationType: string,
	now: Date,
): DeadLetter {
	const letter: DeadLetter = {
		destinationId,
		destinationType,
		sourceId: w.item.sourceId,
		messageId: w.item.event.messageId,
		status: d.status as DeadLetter["status"],
		attempts: d.attempts,
		error: d.error ?? d.status,
		at: now.toISOString(),
	};
	if (d.lastStatus !== undefined) letter.lastStatus = d.lastStatus;
	if (d.responseBody !== undefined) letter.responseBody = d.responseBody;
	const body = w.batch.body;
	if (body.kind === "deletion") letter.deletion = body.deletion;
	else letter.event = w.item.event;
	return letter;
}
