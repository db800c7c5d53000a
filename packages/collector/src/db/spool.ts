/*
 * The fallback log behind ingest's 200. When the EVENTS queue refuses messages, ingest writes
 * them here (one D1 batch) and still answers 200: the events are durably kept. The scheduled
 * drain sends them on. A crash between sending and deleting sends a message twice, which the
 * consumer's deduplication absorbs.
 */

/** Messages moved per drain run; the rest wait for the next run. */
const DRAIN_LIMIT = 500;

/**
 * Keeps queue messages in D1 until the queue takes them.
 *
 * @throws whatever D1 throws: the caller answers 503.
 * @example
 * await spoolMessages(env.DB, messages, new Date());
 */
export async function spoolMessages(
	db: D1Database,
	messages: readonly string[],
	at: Date,
): Promise<void> {
	const insert = db.prepare(
		"INSERT INTO ingest_spool (body, spooled_at) VALUES (?1, ?2)",
	);
	await db.batch(messages.map((body) => insert.bind(body, at.toISOString())));
}

/**
 * Sends spooled messages to the queue, oldest first, and deletes those the queue took.
 * Returns how many were moved; stops at the first refusal and leaves the rest for later.
 *
 * @example
 * const moved = await drainSpool(env.DB, env.EVENTS);
 */
export async function drainSpool(
	db: D1Database,
	queue: Queue<string>,
): Promise<number> {
	const { results } = await db
		.prepare("SELECT id, body FROM ingest_spool ORDER BY id LIMIT ?1")
		.bind(DRAIN_LIMIT)
		.all<{ id: number; body: string }>();
	let moved = 0;
	for (const row of results) {
		try {
			await queue.send(row.body, { contentType: "text" });
		} catch (error) {
			console.warn(
				JSON.stringify({
					msg: "spool drain paused: queue refused",
					error: String(error),
				}),
			);
			break;
		}
		await db
			.prepare("DELETE FROM ingest_spool WHERE id = ?1")
			.bind(row.id)
			.run();
		moved += 1;
	}
	return moved;
}
