/*
 * Everything the console reads of the delivery log (tables `delivery_batches` and
 * `delivery_failures`, migrations/0011_delivery_batches.sql), in one module so the console
 * follows the log's schema in one place. The log keeps a row per DELIVERIES message and a row per
 * event only while that event fails, so figures are per batch where the log has no event row:
 * delivered counts come from each batch's `delivered`, latency is per batch (routing to done).
 * Read only: replays go through delivery/replay.ts like `npm run replay`.
 */

/** One destination's figures over a period. */
export interface DestinationFigures {
	destinationId: string;
	delivered: number;
	failed: number;
	dead: number;
	dropped: number;
	/** Pending or retrying: still on its way. */
	inFlight: number;
	/** Median ms from routing to done of the period's batches that delivered; null when none. */
	p50Ms: number | null;
}

/** A delivery that did not (yet) succeed, with the destination's answer. */
export interface FailedDelivery {
	id: number;
	destinationId: string;
	sourceId: string;
	messageId: string;
	status: string;
	attempts: number;
	lastStatus: number | null;
	lastError: string | null;
	updatedAt: string;
}

/** What the log says of one event at one destination: a failure, or a batch in flight. */
export interface EventDelivery {
	destinationId: string;
	/** A failure row's status (retrying, failed, dead, dropped, delivered after failing), or `pending`. */
	status: string;
	attempts: number;
	lastStatus: number | null;
	lastError: string | null;
}

/**
 * Per destination: delivered, failed, dead, dropped and in flight since `since`, and the p50
 * latency of its batches that delivered.
 *
 * @example
 * await destinationFigures(env.DB, "2026-11-30T16:00:00.000Z") // [{ destinationId: "hooks", delivered: 120, … }]
 */
export async function destinationFigures(
	db: D1Database,
	since: string,
): Promise<DestinationFigures[]> {
	const [batches, failures, latencies] = await db.batch<
		Record<string, unknown>
	>([
		db
			.prepare(
				`SELECT destination_id, sum(delivered) AS delivered,
				   sum(CASE WHEN status IN ('pending', 'retrying') THEN events - delivered ELSE 0 END) AS in_flight
				 FROM delivery_batches WHERE kind = 'events' AND updated_at >= ?1 GROUP BY destination_id`,
			)
			.bind(since),
		db
			.prepare(
				`SELECT destination_id, sum(status = 'failed') AS failed, sum(status = 'dead') AS dead,
				   sum(status = 'dropped') AS dropped
				 FROM delivery_failures WHERE kind = 'event' AND updated_at >= ?1 GROUP BY destination_id`,
			)
			.bind(since),
		// The median per destination: the middle row of its batches' latencies.
		db
			.prepare(
				`WITH l AS (
				   SELECT destination_id, (julianday(settled_at) - julianday(created_at)) * 86400000.0 AS ms,
				     row_number() OVER (PARTITION BY destination_id ORDER BY julianday(settled_at) - julianday(created_at)) AS n,
				     count(*) OVER (PARTITION BY destination_id) AS total
				   FROM delivery_batches
				   WHERE kind = 'events' AND status = 'done' AND delivered > 0 AND settled_at >= ?1)
				 SELECT destination_id, ms FROM l WHERE n = (total + 1) / 2`,
			)
			.bind(since),
	]);
	const figures = new Map<string, DestinationFigures>();
	const of = (id: string) => {
		let f = figures.get(id);
		if (!f) {
			f = {
				destinationId: id,
				delivered: 0,
				failed: 0,
				dead: 0,
				dropped: 0,
				inFlight: 0,
				p50Ms: null,
			};
			figures.set(id, f);
		}
		return f;
	};
	for (const r of batches?.results ?? []) {
		const f = of(String(r.destination_id));
		f.delivered = Number(r.delivered ?? 0);
		f.inFlight = Number(r.in_flight ?? 0);
	}
	for (const r of failures?.results ?? []) {
		const f = of(String(r.destination_id));
		f.failed = Number(r.failed ?? 0);
		f.dead = Number(r.dead ?? 0);
		f.dropped = Number(r.dropped ?? 0);
	}
	for (const r of latencies?.results ?? [])
		of(String(r.destination_id)).p50Ms = Math.round(Number(r.ms));
	return [...figures.values()];
}

/**
 * A destination's latest failures in the given statuses, newest first.
 *
 * @example
 * await failedDeliveries(env.DB, "hooks", ["failed", "retrying"], 20)
 */
export async function failedDeliveries(
	db: D1Database,
	destinationId: string,
	statuses: readonly string[],
	limit: number,
): Promise<FailedDelivery[]> {
	const { results } = await db
		.prepare(
			`SELECT id, destination_id AS destinationId, source_id AS sourceId, message_id AS messageId,
			   status, attempts, last_status AS lastStatus, last_error AS lastError, updated_at AS updatedAt
			 FROM delivery_failures
			 WHERE destination_id = ?1 AND status IN (SELECT value FROM json_each(?2))
			 ORDER BY updated_at DESC, id DESC LIMIT ?3`,
		)
		.bind(destinationId, JSON.stringify(statuses), limit)
		.all<FailedDelivery>();
	return results;
}

/**
 * What the log holds of one event: its failure rows, and the batches in flight that carry it
 * (`pending`). An event a destination took at the first try leaves no row of its own.
 *
 * @example
 * await deliveriesOfEvent(env.DB, "web", "01JD…")
 */
export async function deliveriesOfEvent(
	db: D1Database,
	sourceId: string,
	messageId: string,
): Promise<EventDelivery[]> {
	const [failures, inFlight] = await db.batch<EventDelivery>([
		db
			.prepare(
				`SELECT destination_id AS destinationId, status, attempts, last_status AS lastStatus,
				   last_error AS lastError
				 FROM delivery_failures WHERE source_id = ?1 AND message_id = ?2`,
			)
			.bind(sourceId, messageId),
		// Batches in flight are few (the index holds only them); their bodies name their events.
		db
			.prepare(
				`SELECT b.destination_id AS destinationId, 'pending' AS status, b.attempts,
				   b.last_status AS lastStatus, b.last_error AS lastError
				 FROM delivery_batches AS b JOIN delivery_bodies AS d ON d.batch_id = b.id
				 WHERE b.status IN ('pending', 'retrying') AND b.kind = 'events'
				   AND EXISTS (SELECT 1 FROM json_each(d.body, '$.items') AS i
				     WHERE i.value ->> '$.sourceId' = ?1 AND i.value ->> '$.event.messageId' = ?2)`,
			)
			.bind(sourceId, messageId),
	]);
	const seen = new Set<string>();
	const rows: EventDelivery[] = [];
	for (const row of [
		...(failures?.results ?? []),
		...(inFlight?.results ?? []),
	])
		if (!seen.has(row.destinationId)) {
			seen.add(row.destinationId);
			rows.push(row);
		}
	return rows.sort((a, b) => a.destinationId.localeCompare(b.destinationId));
}
