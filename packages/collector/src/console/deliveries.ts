/*
 * Everything the console reads of the delivery log (table `deliveries`,
 * migrations/0004_delivery.sql), in one module so the console follows the log's schema in one
 * place. Read only: replays go through delivery/replay.ts like `npm run replay`.
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
	/** Median ms from routing to delivery of the period's delivered events; null when none. */
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

/** Where one event went. */
export interface EventDelivery {
	destinationId: string;
	status: string;
	attempts: number;
	lastStatus: number | null;
	lastError: string | null;
	deliveredAt: string | null;
}

/**
 * Per destination: delivered, failed, dead, dropped and in flight since `since`, and the p50
 * latency of what was delivered.
 *
 * @example
 * await destinationFigures(env.DB, "2026-11-30T16:00:00.000Z") // [{ destinationId: "hooks", delivered: 120, … }]
 */
export async function destinationFigures(
	db: D1Database,
	since: string,
): Promise<DestinationFigures[]> {
	const [counts, latencies] = await db.batch<Record<string, unknown>>([
		db
			.prepare(
				`SELECT destination_id,
				   sum(status = 'delivered') AS delivered, sum(status = 'failed') AS failed,
				   sum(status = 'dead') AS dead, sum(status = 'dropped') AS dropped,
				   sum(status IN ('pending', 'retrying')) AS in_flight
				 FROM deliveries WHERE kind = 'event' AND updated_at >= ?1 GROUP BY destination_id`,
			)
			.bind(since),
		// The median per destination: the middle row of its delivered latencies.
		db
			.prepare(
				`WITH l AS (
				   SELECT destination_id, (julianday(delivered_at) - julianday(created_at)) * 86400000.0 AS ms,
				     row_number() OVER (PARTITION BY destination_id ORDER BY julianday(delivered_at) - julianday(created_at)) AS n,
				     count(*) OVER (PARTITION BY destination_id) AS total
				   FROM deliveries WHERE status = 'delivered' AND kind = 'event' AND delivered_at >= ?1)
				 SELECT destination_id, ms FROM l WHERE n = (total + 1) / 2`,
			)
			.bind(since),
	]);
	const p50 = new Map(
		(latencies?.results ?? []).map((r) => [
			String(r.destination_id),
			Number(r.ms),
		]),
	);
	return (counts?.results ?? []).map((r) => {
		const id = String(r.destination_id);
		return {
			destinationId: id,
			delivered: Number(r.delivered ?? 0),
			failed: Number(r.failed ?? 0),
			dead: Number(r.dead ?? 0),
			dropped: Number(r.dropped ?? 0),
			inFlight: Number(r.in_flight ?? 0),
			p50Ms: p50.has(id) ? Math.round(p50.get(id) ?? 0) : null,
		};
	});
}

/**
 * A destination's latest deliveries in the given statuses, newest first.
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
			 FROM deliveries
			 WHERE destination_id = ?1 AND status IN (SELECT value FROM json_each(?2))
			 ORDER BY updated_at DESC, id DESC LIMIT ?3`,
		)
		.bind(destinationId, JSON.stringify(statuses), limit)
		.all<FailedDelivery>();
	return results;
}

/**
 * Where one stored event was sent, per destination.
 *
 * @example
 * await deliveriesOfEvent(env.DB, "web", "01JD…")
 */
export async function deliveriesOfEvent(
	db: D1Database,
	sourceId: string,
	messageId: string,
): Promise<EventDelivery[]> {
	const { results } = await db
		.prepare(
			`SELECT destination_id AS destinationId, status, attempts, last_status AS lastStatus,
			   last_error AS lastError, delivered_at AS deliveredAt
			 FROM deliveries WHERE source_id = ?1 AND message_id = ?2 ORDER BY destination_id`,
		)
		.bind(sourceId, messageId)
		.all<EventDelivery>();
	return results;
}
