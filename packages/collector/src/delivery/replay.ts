import * as v from "valibot";
import type { LoadedConfig } from "../config/schema";
import { loggedWork, resetForReplay } from "../db/deliveries";
import { enableDestination } from "../db/destination-state";
import { ApiError } from "../errors";
import { enqueueAll } from "./messages";
import { type Rebuilt, rebuild, requeueMessages } from "./rebuild";

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
	/** Default: failed and dead; `pending` and `retrying` re-send rows whose message was lost. */
	status: v.optional(v.array(v.picklist(REPLAYABLE)), ["failed", "dead"]),
	since: v.optional(
		v.pipe(v.string(), v.isoTimestamp("must be an ISO-8601 timestamp")),
	),
	/** Continue after this log row id (the previous answer's `next`). */
	after: v.optional(v.pipe(v.number(), v.integer()), 0),
	limit: v.optional(
		v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000)),
		1000,
	),
});
export type ReplayRequest = v.InferOutput<typeof ReplayRequestSchema>;

export interface ReplayResult {
	replayed: number;
	/** Rows whose event is no longer stored (older than the retention period). */
	missing: number;
	/** Pass as `after` to continue; absent when this was the last page. */
	next?: number;
	/** The destination had been switched off by a 410 and is on again. */
	reenabled: boolean;
}

/**
 * Re-sends one page of a destination's deliveries in the given statuses (by default failed and
 * dead): each row goes back to `pending` with its attempts reset and is queued again, rebuilt
 * from the stored event (current mapping and settings apply; `context.profileId` is the
 * resolved profile, never what the client sent) or deletion record. `pending` and `retrying`
 * rows can be replayed too, for a message that was lost; the consumer skips a copy of one that
 * was delivered meanwhile. Replaying also switches a destination back on after a 410.
 * Idempotency keys do not change, so an event the destination did get after all is
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
	const destination = config.destinationsById.get(request.destination);
	if (!destination)
		throw new ApiError(
			404,
			"unknown_destination",
			`No destination '${request.destination}' in the config`,
		);
	const reenabled = await enableDestination(env.DB, destination.id);
	const rows = await loggedWork(env.DB, {
		destinationId: destination.id,
		statuses: request.status,
		since: request.since ? new Date(request.since).toISOString() : "",
		after: request.after,
		limit: request.limit,
	});
	const rebuilt: Rebuilt[] = [];
	const ids: number[] = [];
	for (const row of rows) {
		const work = rebuild(row);
		if (!work) continue;
		rebuilt.push(work);
		ids.push(row.id);
	}
	await resetForReplay(env.DB, ids, now);
	await enqueueAll(
		env.DELIVERIES,
		requeueMessages(destination.id, destination.batchSize, rebuilt),
	);
	const result: ReplayResult = {
		replayed: ids.length,
		missing: rows.length - ids.length,
		reenabled,
	};
	const last = rows.at(-1);
	if (last && rows.length === request.limit) result.next = last.id;
	return result;
}
