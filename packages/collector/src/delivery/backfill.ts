import * as v from "valibot";
import type { LoadedConfig } from "../config/schema";
import { type Backfill, insertBackfill } from "../db/backfills";
import type { DeliveryItem } from "../destinations/types";
import { ApiError } from "../errors";
import type { QueuedEvent } from "../event";
import { routeVerdict } from "../routing/route";
import { contentKey } from "./batch-key";
import {
	configuredDestination,
	destinationMessages,
	queueAndLog,
} from "./fanout";
import type { DeliveryMessage } from "./messages";

/*
 * Destination backfill: sends a range of stored events (the events of record in R2) to one
 * destination, as if it had been configured when they arrived. Each event is routed by the
 * destination's rules as fan-out routes live traffic (routing/route.ts: integrations, filters,
 * consent as recorded on the event), and goes through the DELIVERIES queue, so mapping,
 * retries, backoff, dead letters and the delivery log all apply.
 *
 * Failure rule: must pass per step. A step that cannot queue its messages or write their log
 * rows throws; the job's cursor stays where it was and the next run does the step again. The
 * step's messages are keyed by content, salted with the job's id (batch-key.ts), and chunked
 * the same way from the same cursor, so a step done twice queues the same batches and the
 * DELIVERIES consumer skips those the log has as done; what is left (a batch regrouped because
 * an object changed) carries each event's idempotency key, which the destination deduplicates.
 */

/** Milliseconds in a day. */
const DAY_MS = 86_400_000;
/** How far past now a range may end: clocks differ a little. */
const CLOCK_SKEW_MS = 60_000;

const Instant = v.pipe(
	v.string(),
	v.isoTimestamp("must be an ISO-8601 timestamp with a time zone"),
);

/**
 * The body of `POST /admin/backfills`.
 *
 * @example
 * { "destination": "hooks", "from": "2026-11-01T00:00:00Z", "to": "2026-11-08T00:00:00Z", "sources": ["web"] }
 */
export const BackfillRequestSchema = v.strictObject({
	destination: v.pipe(v.string(), v.minLength(1, "must name a destination")),
	/** Inclusive, by the collector's `receivedAt`. */
	from: Instant,
	/** Exclusive. */
	to: Instant,
	/** Default: every source of the config. */
	sources: v.optional(
		v.pipe(
			v.array(v.string()),
			v.minLength(1, "must name at least one source"),
			v.maxLength(100, "must name at most 100 sources"),
		),
	),
});
export type BackfillRequest = v.InferOutput<typeof BackfillRequestSchema>;

/**
 * Checks a backfill range against now and retention; the range as dates, or an ApiError 400
 * (`bad_range`, `range_over_retention`).
 *
 * @example
 * backfillRange("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", new Date(), 30) // { from, to }
 */
export function backfillRange(
	from: string,
	to: string,
	now: Date,
	retentionDays: number,
): { from: Date; to: Date } {
	const range = { from: new Date(from), to: new Date(to) };
	if (Number.isNaN(range.from.getTime()) || Number.isNaN(range.to.getTime()))
		throw new ApiError(400, "bad_range", "from and to must be instants");
	if (range.from >= range.to)
		throw new ApiError(400, "bad_range", "from must be before to");
	if (range.to.getTime() > now.getTime() + CLOCK_SKEW_MS)
		throw new ApiError(
			400,
			"bad_range",
			"to is in the future: a backfill reads stored events only",
		);
	const oldest = new Date(now.getTime() - retentionDays * DAY_MS);
	if (range.from < oldest)
		throw new ApiError(
			400,
			"range_over_retention",
			`from is before ${oldest.toISOString()}: events of record are kept ${retentionDays} days (EVENT_RETENTION_DAYS)`,
		);
	return range;
}

/**
 * The retention of the events of record, in days (EVENT_RETENTION_DAYS, as the hourly cron
 * reads it).
 *
 * @example
 * retentionDays(env) // 30
 */
export function retentionDays(env: Pick<Env, "EVENT_RETENTION_DAYS">): number {
	return Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
}

/**
 * Creates a destination backfill job, after checking the destination (404
 * `unknown_destination`, 409 `destination_disabled`), the sources (400 `unknown_source`) and
 * the range.
 *
 * @example
 * await startDestinationBackfill(env, config, { destination: "hooks", from, to }, new Date())
 * // { id: 4, kind: "destination", status: "running", … }
 */
export async function startDestinationBackfill(
	env: Pick<Env, "DB" | "EVENT_RETENTION_DAYS">,
	config: LoadedConfig,
	request: BackfillRequest,
	now: Date,
): Promise<Backfill> {
	const destination = configuredDestination(config, request.destination);
	if (!destination.enabled)
		throw new ApiError(
			409,
			"destination_disabled",
			`Destination '${destination.id}' is disabled: enable it first`,
		);
	const sources =
		request.sources ?? config.config.sources.map((source) => source.id);
	const unknown = sources.filter((id) => !config.sourcesById.has(id));
	if (unknown.length > 0)
		throw new ApiError(
			400,
			"unknown_source",
			`No source ${unknown.map((id) => `'${id}'`).join(", ")} in the config`,
		);
	const range = backfillRange(
		request.from,
		request.to,
		now,
		retentionDays(env),
	);
	return insertBackfill(
		env.DB,
		{
			kind: "destination",
			destinationId: destination.id,
			sources: [...new Set(sources)],
			...range,
		},
		now,
	);
}

/**
 * Routes a step's events to the job's destination and queues them: one DELIVERIES message per
 * chunk (the destination's batch size, at most 100 events), keyed by content and the job, each
 * with its `pending` log row. Returns how many events were queued.
 *
 * @throws Error when the destination is gone from the config or disabled: the job fails.
 * @example
 * await sendBackfillStep(env, config, job, step.events, new Date()) // 850
 */
export async function sendBackfillStep(
	env: Pick<Env, "DB" | "DELIVERIES">,
	config: LoadedConfig,
	job: Pick<Backfill, "id" | "destinationId">,
	events: readonly QueuedEvent[],
	now: Date,
): Promise<number> {
	const destination = config.destinationsById.get(job.destinationId ?? "");
	if (!destination?.enabled)
		throw new BackfillStopped(
			`destination '${job.destinationId}' is no longer an enabled destination of the config`,
		);
	const items: DeliveryItem[] = events.filter(
		({ sourceId, event }) =>
			!routeVerdict(
				destination,
				sourceId,
				event,
				config.sourcesById.get(sourceId),
			),
	);
	if (items.length === 0) return 0;
	const messages: DeliveryMessage[] = await Promise.all(
		destinationMessages(destination, items).map(async (message) => ({
			...message,
			batch:
				message.kind === "events"
					? await contentKey(
							destination.id,
							message.items,
							`backfill:${job.id}`,
						)
					: undefined,
		})),
	);
	await queueAndLog(env, messages, now);
	return items.length;
}

/**
 * A reason to end a job for good rather than retry its step (its destination is gone).
 *
 * @example
 * throw new BackfillStopped("destination 'hooks' is no longer in the config");
 */
export class BackfillStopped extends Error {
	override name = "BackfillStopped";
}
