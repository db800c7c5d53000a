/*
 * Destinations their receiver switched off (webhook 410 Gone): fan-out skips them and queued
 * deliveries to them fail, until a replay to the destination switches it back on.
 */

/**
 * Ids of the destinations currently switched off.
 *
 * @example
 * (await disabledDestinations(env.DB)).has("hooks") // true after a 410
 */
export async function disabledDestinations(
	db: D1Database,
): Promise<Set<string>> {
	const { results } = await db
		.prepare("SELECT destination_id FROM destination_state")
		.run<{ destination_id: string }>();
	return new Set(results.map((row) => row.destination_id));
}

/**
 * Switches a destination off, keeping the first reason given.
 *
 * @example
 * await disableDestination(env.DB, "hooks", "410 Gone", new Date());
 */
export async function disableDestination(
	db: D1Database,
	destinationId: string,
	reason: string,
	now: Date,
): Promise<void> {
	await db
		.prepare(
			"INSERT INTO destination_state (destination_id, disabled_at, reason) VALUES (?1, ?2, ?3) ON CONFLICT (destination_id) DO NOTHING",
		)
		.bind(destinationId, now.toISOString(), reason)
		.run();
}

/**
 * Switches a destination back on; resolves to whether it had been off.
 *
 * @example
 * await enableDestination(env.DB, "hooks") // true
 */
export async function enableDestination(
	db: D1Database,
	destinationId: string,
): Promise<boolean> {
	const { meta } = await db
		.prepare("DELETE FROM destination_state WHERE destination_id = ?1")
		.bind(destinationId)
		.run();
	return meta.changes > 0;
}
