import { trackAudiences } from "../audiences/stage";
import { loadConfig } from "../config/load";
import { tapBatch } from "../console/tap";
import { forgetPendingStatement } from "../db/deliveries";
import {
	bodyHash,
	forgetFailuresStatement,
	recordFailures,
} from "../db/event-failures";
import {
	eventParkInput,
	type ParkedReason,
	type ParkInput,
	parkStatements,
} from "../db/parked";
import {
	type ClaimedEvent,
	claimEvents,
	finishStatement,
	type IncomingEvent,
	releaseStatement,
} from "../db/seen";
import { type FanOutResult, fanOut } from "../delivery/fanout";
import { errorText } from "../errors";
import { identityDeps } from "../identity/deps";
import {
	type IdentityResult,
	type IdentityStats,
	resolveIdentities,
} from "../identity/resolve";
import { tallyStatements } from "../identity/tally";
import { decodeMessage, malformedRows } from "../ingest/message";
import { writeRecords } from "../records/write";
import { isolate, type Refusal } from "./isolate";
import { attemptsOf, retryBatchLater } from "./retry";

/*
 * The EVENTS queue consumer. Stage rules, in order:
 *
 * 1. Decode — isolated per line. A line that is not an event with a storable messageId, or a
 *    message whose source cannot be read, can never succeed: it is parked (`malformed`) and
 *    its neighbours go on.
 * 2. Store (db/seen.ts) — must pass, isolated per event (isolate.ts). Each event is claimed
 *    in the deduplication window (one row per event, one statement per queue message, one round
 *    trip); what comes back is what this message has to process: new events, and its own
 *    unfinished ones on a redelivery. If D1 refuses the batch, it is bisected and an event that
 *    fails on its own while its neighbours are claimed is parked (`storage_refused`). A
 *    systemic failure (D1 down, overloaded, timing out; or nothing in the batch stores) parks
 *    nothing and retries every message.
 * 3. Identity (identity/) — must pass, isolated per event, the same way: sets
 *    `context.profileId`, leaves out events of deleted (suppressed) profiles; an event it
 *    fails on alone is parked (`processing_refused`).
 * 4. Fan-out (delivery/fanout.ts) — must pass, isolated per event, the same way: writes the
 *    delivery log and the DELIVERIES queue (an event whose delivery message the queue refuses
 *    is parked, `processing_refused`); destinations are isolated from each other there.
 * 5. Audiences (audiences/stage.ts) — must pass for the batch: computed traits and audience
 *    memberships of the resolved events' profiles; entries and exits are queued as events.
 *    A failure retries the batch (the step skips events it already applied).
 * 6. Record (records/write.ts) — must pass as a whole: the events that went through identity
 *    and fan-out are put in R2 as events of record (one Parquet object per source and hour),
 *    after D1 has recorded which profiles each object holds (erasure's index); a redelivery
 *    regrouped into another batch takes its events out of the objects an earlier attempt wrote
 *    (each names its queue messages in its metadata), so no event is ever in two objects. Any
 *    error retries the batch.
 * 7. Finish — must pass: one D1 batch parks what was refused, releases the window rows of
 *    events parked unfinished (so a replay can finish them), deletes the delivery-log rows
 *    fan-out left pending for them, adds identity's counters for the finished events
 *    (identity/tally.ts) and records each queue message as finished (one row per message), all
 *    in one transaction; then the batch is acknowledged.
 *
 * Any systemic failure retries every message with backoff (every stage is idempotent) and
 * records the error per message (db/event-failures.ts: only on this path); after max_retries
 * the queue moves the messages to conduit-events-dlq, whose consumer parks their events with
 * that error (events-dlq.ts). A healthy batch costs the same round trips as with
 * no isolation at all: the stages run once each, on the whole batch.
 */

/**
 * The EVENTS queue consumer (see the stage rules above).
 *
 * @example
 * export default { queue: consumeEvents } satisfies ExportedHandler<Env, string>;
 */
export async function consumeEvents(
	batch: MessageBatch<unknown>,
	env: Env,
	ctx?: ExecutionContext,
): Promise<void> {
	const { incoming, parked } = decodeBatch(batch);
	const attempts = attemptsOf(batch.messages);
	try {
		const now = new Date();
		const stored = await isolate("store", incoming, (part) =>
			claimEvents(env.DB, part, now),
		);
		const fresh = stored.results.flat();
		parked.push(...refusedRows(stored.refused, "storage_refused"));

		const config = await loadConfig(env);
		const identity = identityDeps(env, config, ctx);
		const resolved = await isolate("identity", fresh, (part) =>
			resolveIdentities(part, identity),
		);
		// Fan-out sees resolved events only: duplicates and suppressed events never reach it.
		const events = resolved.results.flatMap((r) => r.events);
		const fanned = await isolate("fan-out", events, (part) =>
			fanOut(env, part, config, now),
		);
		const audiences = await trackAudiences(env, config, events, {
			now,
			fresh: attempts > 1 || resolved.results.some((r) => r.stats.merges > 0),
		});
		ctx?.waitUntil(tapBatch(env.DB, events));
		const unfinished = [...resolved.refused, ...fanned.refused];
		parked.push(...refusedRows(unfinished, "processing_refused"));

		const unfinishedKeys = new Set(unfinished.map((r) => r.item.key));
		const recorded = await writeRecords(
			env,
			events.filter((e) => !unfinishedKeys.has(e.key)),
			{ claimed: fresh, retried: retriedOwners(batch.messages, fresh) },
			now,
		);
		const statements: D1PreparedStatement[] = [];
		statements.push(...parkStatements(env.DB, parked, now));
		if (unfinished.length > 0)
			statements.push(
				releaseStatement(
					env.DB,
					unfinished.map(({ item }) => item.key),
				),
			);
		if (fanned.refused.length > 0)
			statements.push(
				forgetPendingStatement(
					env.DB,
					fanned.refused.map(({ item }) => [
						item.sourceId,
						item.event.messageId,
					]),
				),
			);
		// Identity's counters go in with the finish, so each event counts once (identity/tally.ts).
		statements.push(
			...tallyStatements(
				env.DB,
				resolved.results.map((r) => r.tally),
				unfinishedKeys,
			),
		);
		if (fresh.length > 0)
			statements.push(
				finishStatement(
					env.DB,
					fresh.map((e) => e.owner),
					now,
				),
			);
		// Only a retried batch can have failures on record: a first attempt writes nothing more.
		if (attempts > 1)
			statements.push(
				forgetFailuresStatement(env.DB, await hashes(batch.messages)),
			);
		if (statements.length > 0) await env.DB.batch(statements);
		console.log(
			JSON.stringify({
				msg: "events stored",
				received: incoming.length,
				stored: fresh.length,
				records: recorded,
				duplicates: incoming.length - stored.refused.length - fresh.length,
				parked: parked.length,
				identity: { ...sumStats(resolved.results), d1Calls: identity.d1.calls },
				routed: sumRouted(fanned.results),
				audiences,
				...(stored.runs + resolved.runs + fanned.runs > 3 && {
					runs: {
						store: stored.runs,
						identity: resolved.runs,
						fanOut: fanned.runs,
					},
				}),
			}),
		);
		batch.ackAll();
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "event batch failed; retrying",
				events: incoming.length,
				attempts,
				error: errorText(error),
			}),
		);
		await recordFailure(env.DB, batch.messages, errorText(error), attempts);
		retryBatchLater(batch);
	}
}

/** The batch's events, unique by (source, messageId), and the rows to park for what is not one. */
function decodeBatch(batch: MessageBatch<unknown>): {
	incoming: IncomingEvent[];
	parked: ParkInput[];
} {
	const incoming: IncomingEvent[] = [];
	const parked: ParkInput[] = [];
	const seen = new Set<string>();
	for (const message of batch.messages) {
		const decoded = decodeMessage(message.body);
		if (!decoded.ok) {
			console.error(
				JSON.stringify({
					msg: "parking malformed queue message",
					id: message.id,
					error: decoded.error,
				}),
			);
		}
		parked.push(...malformedRows(decoded));
		if (!decoded.ok) continue;
		const { sourceId, events } = decoded.message;
		for (const { event, json } of events) {
			// A client may repeat an event inside one batch; only its first copy goes on.
			const key = `${sourceId}\n${event.messageId}`;
			if (seen.has(key)) continue;
			seen.add(key);
			incoming.push({ sourceId, event, json, queueMessageId: message.id });
		}
	}
	return { incoming, parked };
}

/** Parked rows for events a stage refused. */
function refusedRows(
	refused: readonly Refusal<IncomingEvent | ClaimedEvent>[],
	reason: ParkedReason,
): ParkInput[] {
	return refused.map(({ item, error }) => eventParkInput(item, reason, error));
}

/**
 * Keeps the error of a failed batch for the dead-letter consumer. Best effort: when D1 is what
 * failed, this fails too, and the dead letter is parked with its attempts only.
 */
async function recordFailure(
	db: D1Database,
	messages: readonly Message<unknown>[],
	error: string,
	attempts: number,
): Promise<void> {
	try {
		const keys = await hashes(messages);
		await recordFailures(
			db,
			messages.map((m, i) => ({ hash: keys[i] ?? "", attempts: m.attempts })),
			error,
			new Date(),
		);
	} catch (failure) {
		console.warn(
			JSON.stringify({
				msg: "could not record the batch failure",
				attempts,
				error: errorText(failure),
			}),
		);
	}
}

/**
 * The owners (db/seen.ts) of the messages on a second or later delivery that claimed events: an
 * earlier attempt of theirs may have put those events in an object of another batch.
 */
function retriedOwners(
	messages: readonly Message<unknown>[],
	fresh: readonly ClaimedEvent[],
): string[] {
	const retried = new Set(
		messages.filter((m) => m.attempts > 1).map((m) => m.id),
	);
	if (retried.size === 0) return [];
	return [
		...new Set(
			fresh.filter((e) => retried.has(e.queueMessageId)).map((e) => e.owner),
		),
	];
}

function hashes(messages: readonly Message<unknown>[]): Promise<string[]> {
	return Promise.all(messages.map((m) => bodyHash(m.body)));
}

function sumStats(results: readonly IdentityResult[]): Partial<IdentityStats> {
	const total: Record<string, number> = {};
	for (const { stats } of results)
		for (const [key, value] of Object.entries(stats))
			total[key] = (total[key] ?? 0) + value;
	return total;
}

function sumRouted(results: readonly FanOutResult[]): Record<string, number> {
	const total: Record<string, number> = {};
	for (const { routed } of results)
		for (const [id, n] of Object.entries(routed))
			total[id] = (total[id] ?? 0) + n;
	return total;
}
