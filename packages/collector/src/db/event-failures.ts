/*
 * The last error of EVENTS queue messages handed back for a retry (migrations/0008): written
 * only when a batch fails, so a healthy batch never pays for it; read by the events dead-letter
 * consumer. Keyed by a hash of the message body, which a dead-lettered message keeps.
 */

/** Longest error text kept per message. */
const MAX_ERROR_CHARS = 2000;

/** The last failure recorded for a message. */
export interface EventFailure {
	error: string;
	attempts: number;
	failedAt: string;
}

/**
 * The key of a queue message: a hex SHA-256 of its body (the text, or the JSON of an object).
 *
 * @example
 * await bodyHash('{"sourceId":"web"}\n{…}') // "9f2c…" (64 hex digits)
 */
export async function bodyHash(body: unknown): Promise<string> {
	const text = typeof body === "string" ? body : JSON.stringify(body ?? null);
	const digest = await crypto.subtle.digest(
		"SHA-256",
		new TextEncoder().encode(text),
	);
	return Array.from(new Uint8Array(digest), (b) =>
		b.toString(16).padStart(2, "0"),
	).join("");
}

/**
 * Records the error a failed batch ended with, for each of its messages (one statement).
 *
 * @example
 * await recordFailures(env.DB, [{ hash, attempts: 3 }], "D1_ERROR: malformed JSON", new Date());
 */
export async function recordFailures(
	db: D1Database,
	messages: readonly { hash: string; attempts: number }[],
	error: string,
	now: Date,
): Promise<void> {
	if (messages.length === 0) return;
	await db
		.prepare(
			`INSERT INTO event_failures (body_hash, error, attempts, failed_at)
SELECT value ->> 0, ?2, value ->> 1, ?3 FROM json_each(?1) WHERE true
ON CONFLICT (body_hash) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, failed_at = excluded.failed_at`,
		)
		.bind(
			JSON.stringify(messages.map((m) => [m.hash, m.attempts])),
			wellFormed(error).slice(0, MAX_ERROR_CHARS),
			now.toISOString(),
		)
		.run();
}

/**
 * The recorded failures of some messages, by body hash.
 *
 * @example
 * (await failuresOf(env.DB, [hash])).get(hash)?.error // "D1_ERROR: malformed JSON: SQLITE_ERROR"
 */
export async function failuresOf(
	db: D1Database,
	hashes: readonly string[],
): Promise<Map<string, EventFailure>> {
	const failures = new Map<string, EventFailure>();
	if (hashes.length === 0) return failures;
	const { results } = await db
		.prepare(
			"SELECT body_hash, error, attempts, failed_at FROM event_failures WHERE body_hash IN (SELECT value FROM json_each(?1))",
		)
		.bind(JSON.stringify(hashes))
		.run<{
			body_hash: string;
			error: string;
			attempts: number;
			failed_at: string;
		}>();
	for (const row of results)
		failures.set(row.body_hash, {
			error: row.error,
			attempts: row.attempts,
			failedAt: row.failed_at,
		});
	return failures;
}

/**
 * The statement that forgets the failures of messages that are settled (parked or stored).
 *
 * @example
 * await env.DB.batch([...parkStatements(env.DB, rows, now), forgetFailuresStatement(env.DB, hashes)]);
 */
export function forgetFailuresStatement(
	db: D1Database,
	hashes: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			"DELETE FROM event_failures WHERE body_hash IN (SELECT value FROM json_each(?1))",
		)
		.bind(JSON.stringify(hashes));
}

function wellFormed(text: string): string {
	return text.isWellFormed() ? text : text.toWellFormed();
}
