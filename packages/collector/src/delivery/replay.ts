import * as v from "valibot";
import type { LoadedConfig } from "../config/schema";
import { enableDestination } from "../db/destination-state";
import type { ProfileDeletion } from "../destinations/types";
import { ApiError } from "../errors";
import type { EnrichedEvent } from "../types";
import { MAX_EVENTS_PER_MESSAGE } from "./fanout";
import { type DeliveryMessage, enqueueAll, eventMessages } from "./messages";

/**
 * The body of `POST /admin/replay`.
 *
 * @example
 * { "destination": "hooks", "status": ["dead"], "since": "2026-11-01T00:00:00Z" }
 */
export const ReplayRequestSchema = v.strictObject({
	destination: v.string(),
	status: v.optional(v.array(v.picklist(["failed", "dead"])), [
		"failed",
		"dead",
	]),
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

interface Row {
	id: number;
	source_id: string;
	message_id: string;
	kind: string;
	payload: string | null;
	profile_id: string | null;
	identities: string | null;
	requested_at: string | null;
	deletion_id: number | null;
}

/**
 * Re-sends one page of a destination's failed/dead deliveries: each row goes back to `pending`
 * with its attempts reset and is queued again with the stored event (current mapping and
 * settings apply). Replaying also switches a destination back on after a 410. Idempotency keys
 * do not change, so an event the destination did get after all is deduplicated there.
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
	const { results } = await env.DB.prepare(
		`SELECT d.id, d.source_id, d.message_id, d.kind, e.payload,
        p.id AS deletion_id, p.profile_id, p.identities, p.requested_at
FROM deliveries AS d
LEFT JOIN events AS e ON d.kind = 'event' AND e.source_id = d.source_id AND e.message_id = d.message_id
LEFT JOIN profile_deletions AS p ON d.kind = 'deletion' AND d.message_id = 'deletion:' || p.id
WHERE d.destination_id = ?1 AND d.status IN (SELECT value FROM json_each(?2))
  AND d.created_at >= ?3 AND d.id > ?4
ORDER BY d.id LIMIT ?5`,
	)
		.bind(
			destination.id,
			JSON.stringify(request.status),
			request.since ? new Date(request.since).toISOString() : "",
			request.after,
			request.limit,
		)
		.run<Row>();
	const items: { sourceId: string; event: EnrichedEvent }[] = [];
	const deletions: DeliveryMessage[] = [];
	const ids: number[] = [];
	for (const row of results) {
		if (row.kind === "event" && row.payload) {
			items.push({
				sourceId: row.source_id,
				event: JSON.parse(row.payload) as EnrichedEvent,
			});
			ids.push(row.id);
		} else if (row.kind === "deletion" && row.deletion_id !== null) {
			deletions.push({
				kind: "deletion",
				destinationId: destination.id,
				deletion: deletionOf(row),
			});
			ids.push(row.id);
		}
	}
	if (ids.length > 0)
		await env.DB.prepare(
			`UPDATE deliveries SET status = 'pending', attempts = 0, last_error = 'replayed', updated_at = ?1, next_attempt_at = ?1
WHERE id IN (SELECT value FROM json_each(?2))`,
		)
			.bind(now.toISOString(), JSON.stringify(ids))
			.run();
	await enqueueAll(env.DELIVERIES, [
		...eventMessages(
			destination.id,
			items,
			Math.min(
				destination.batchSize ?? MAX_EVENTS_PER_MESSAGE,
				MAX_EVENTS_PER_MESSAGE,
			),
		),
		...deletions,
	]);
	const result: ReplayResult = {
		replayed: ids.length,
		missing: results.length - ids.length,
		reenabled,
	};
	const last = results.at(-1);
	if (last && results.length === request.limit) result.next = last.id;
	return result;
}

function deletionOf(row: Row): ProfileDeletion {
	return {
		id: row.deletion_id ?? 0,
		profileId: row.profile_id ?? "",
		identities: JSON.parse(
			row.identities ?? "[]",
		) as ProfileDeletion["identities"],
		requestedAt: row.requested_at ?? "",
	};
}
