import * as v from "valibot";
import type { LoadedConfig } from "../config/schema";
import { keyString } from "../db/deliveries";
import {
	inFlightBatches,
	insertBatchesStatements,
	markRequeued,
} from "../db/delivery-batches";
import { failedWork, replayingStatement } from "../db/delivery-failures";
import { enableDestination } from "../db/destination-state";
import { parkedDeliveriesReplayedStatement } from "../db/parked";
import { keyed } from "./batch-key";
import { configuredDestination, newBatch } from "./fanout";
import { type DeliveryMessage, enqueueAll, itemsOf } from "./messages";
import { bodyOf, type Rebuilt, rebuild, requeueMessages } from "./rebuild";

/** Statuses a replay takes: given up on, or in flight (a lost message; see the sweeper). */
export const REPLAYABLE = ["failed", "dead", "pending", "retrying"] as const;

/**
 * The body of `POST /admin/replay`.
 *
 * @example
 * { "destination": "hooks", "status": ["dead"], "since": "2026-11-01T00:00:00Z" }
 */
export const ReplayRequestSchema = v.strictObject({
	destination: v.string(),
	/** Default: failed and dead; `pending` and `retrying` re-send batches whose message was lost. */
	status: v.optional(v.array(v.picklist(REPLAYABLE)), ["failed", "dead"]),
	since: v.optional(
		v.pipe(v.string(), v.isoTimestamp("must be an ISO-8601 timestamp")),
	),
	/**
	 * Continue from the previous answer's `next`. A number is a failure row id (what `next` was
	 * before batches were logged).
	 */
	after: v.optional(
		v.union([
			v.pipe(v.number(), v.integer()),
			v.pipe(
				v.string(),
				v.regex(/^[fb]:\d+$/, "must be a previous answer's next"),
			),
		]),
		0,
	),
	limit: v.optional(
		v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000)),
		1000,
	),
});
export type ReplayRequest = v.InferOutput<typeof ReplayRequestSchema>;

export interface ReplayResult {
	/** Events (and deletions) queued again. */
	replayed: number;
	/** Failed events that cannot be sent again (their deletion record is gone). */
	missing: number;
	/** Pass as `after` to continue; absent when this was the last page. */
	next?: string;
	/** The destination had been switched off by a 410 and is on again. */
	reenabled: boolean;
}

/**
 * Re-sends one page of a destination's deliveries in the given statuses (by default failed and
 * dead). Failed and dead events are read from their failure rows, queued again in new batches
 * (fresh keys; current mapping and settings apply; `context.profileId` is the profile identity
 * resolved, never what the client sent) and their rows put back to `retrying` with no attempts.
 * `pending` and `retrying` re-send the messages of batches in flight as the log keeps them, for
 * a message that was lost; the consumer skips a batch that was done meanwhile. Failure rows come
 * first, then batches (`next` says which). Replaying also switches a destination back on after
 * a 410. Idempotency keys do not change, so an event the destination did get after all is
 * deduplicated there.
 *
 * @throws ApiError 404 when the destination is not in the config.
 * @example
 * await replay(env, config, { destination: "hooks", status: ["dead"], after: 0, limit: 1000 }, new Date())
 * // { replayed: 12, missing: 0, reenabled: false }
 */
export async function replay(
	env: Pick<Env, "DB" | "DELIVERIES">,
	config: LoadedConfig,
	request: ReplayRequest,
	now: Date,
): Promise<ReplayResult> {
	const destination = configuredDestination(config, request.destination);
	const reenabled = await enableDestination(env.DB, destination.id);
	const cursor =
		typeof request.after === "number" ? `f:${request.after}` : request.after;
	const phase = cursor.slice(0, 1);
	const after = Number(cursor.slice(2));
	const since = request.since ? new Date(request.since).toISOString() : "";
	const failed = request.status.filter((s) => s === "failed" || s === "dead");
	const inFlight = request.status.filter(
		(s) => s === "pending" || s === "retrying",
	);
	const result: ReplayResult = { replayed: 0, missing: 0, reenabled };

	if (phase === "f" && failed.length > 0) {
		const rows = await failedWork(env.DB, {
			destinationId: destination.id,
			statuses: failed,
			since,
			after,
			limit: request.limit,
		});
		const rebuilt: Rebuilt[] = [];
		const rowOf = new Map<string, number>();
		for (const row of rows) {
			const work = rebuild(row);
			if (!work) continue;
			rebuilt.push(work);
			rowOf.set(keyString([row.source_id, row.message_id]), row.id);
		}
		const messages = await keyed(
			requeueMessages(destination.id, destination.batchSize, rebuilt),
			"fresh",
		);
		const replaying = messages.flatMap((message) =>
			itemsOf(message).flatMap((item) => {
				const id = rowOf.get(keyString([item.sourceId, item.event.messageId]));
				return id === undefined ? [] : [{ id, batchKey: message.batch ?? "" }];
			}),
		);
		if (messages.length > 0)
			await env.DB.batch([
				...insertBatchesStatements(
					env.DB,
					messages.map((m) => newBatch(m)),
					now,
				),
				replayingStatement(env.DB, replaying, now),
				parkedDeliveriesReplayedStatement(
					env.DB,
					destination.id,
					rows.map((row) => [row.source_id, row.message_id] as const),
					now,
				),
			]);
		await enqueueAll(env.DELIVERIES, messages);
		result.replayed += replaying.length;
		result.missing += rows.length - rebuilt.length;
		const last = rows.at(-1);
		if (last && rows.length === request.limit) result.next = `f:${last.id}`;
		else if (inFlight.length > 0) result.next = "b:0";
		return result;
	}

	if (inFlight.length === 0) return result;
	const batches = await inFlightBatches(env.DB, {
		destinationId: destination.id,
		statuses: inFlight,
		since,
		after: phase === "b" ? after : 0,
		limit: request.limit,
	});
	const requeued = new Set(
		await markRequeued(
			env.DB,
			batches.map((b) => b.id),
			{ sweep: false },
			now,
		),
	);
	const messages: DeliveryMessage[] = batches.flatMap((batch) => {
		const body = requeued.has(batch.id) ? bodyOf(batch) : undefined;
		return body ? [body] : [];
	});
	await enqueueAll(env.DELIVERIES, messages);
	result.replayed += messages.reduce((n, m) => n + itemsOf(m).length, 0);
	const last = batches.at(-1);
	if (last && batches.length === request.limit) result.next = `b:${last.id}`;
	return result;
}
