/*
 * SQL for the console's own tables (migrations/0013_console.sql): per-minute event counts,
 * the live view's watch flag. Sign-in failures are in sign-in.ts, beside their rule.
 */

/** Events counted for one source and UTC minute. */
export interface MinuteCount {
	sourceId: string;
	/** `YYYY-MM-DDTHH:MM` (UTC). */
	minute: string;
	accepted: number;
	rejected: number;
}

const UPSERT = `INSERT INTO console_event_counts (source_id, minute, accepted, rejected)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
FROM json_each(?1) WHERE true
ON CONFLICT (source_id, minute) DO UPDATE SET accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected`;

/** How long the counts are kept: the overview shows 24 hours. */
const KEEP_MS = 25 * 60 * 60 * 1000;
/** Old rows are trimmed at most this often per isolate, not on every write. */
const TRIM_EVERY_MS = 10 * 60 * 1000;
let lastTrimMs = 0;

/**
 * The minute key of a timestamp: `YYYY-MM-DDTHH:MM`, UTC.
 *
 * @example
 * minuteOf("2026-12-01T15:04:59.999Z") // "2026-12-01T15:04"
 */
export function minuteOf(iso: string): string {
	return iso.slice(0, 16);
}

/**
 * Adds counts and reads the watch flag in one D1 round trip: the statements a batch costs.
 * Counts are summed per (source, minute) before they reach D1, so a batch of any size is one
 * upsert. Returns whether someone watches the live view now.
 *
 * @example
 * const watched = await countAndCheckWatch(env.DB, [{ sourceId: "web", minute: "2026-12-01T15:04", accepted: 40, rejected: 0 }], Date.now());
 */
export async function countAndCheckWatch(
	db: D1Database,
	counts: readonly MinuteCount[],
	nowMs: number,
): Promise<boolean> {
	const rows = [...summed(counts).values()].map((c) => [
		c.sourceId,
		c.minute,
		c.accepted,
		c.rejected,
	]);
	const statements: D1PreparedStatement[] = [];
	if (rows.length > 0)
		statements.push(db.prepare(UPSERT).bind(JSON.stringify(rows)));
	if (nowMs - lastTrimMs > TRIM_EVERY_MS) {
		lastTrimMs = nowMs;
		statements.push(
			db
				.prepare("DELETE FROM console_event_counts WHERE minute < ?1")
				.bind(minuteOf(new Date(nowMs - KEEP_MS).toISOString())),
		);
	}
	statements.push(
		db.prepare("SELECT until_ms FROM console_watch WHERE id = 1"),
	);
	const results = await db.batch<{ until_ms: number }>(statements);
	const until = results.at(-1)?.results[0]?.until_ms ?? 0;
	return until > nowMs;
}

function summed(counts: readonly MinuteCount[]): Map<string, MinuteCount> {
	const byKey = new Map<string, MinuteCount>();
	for (const count of counts) {
		const key = `${count.sourceId}\n${count.minute}`;
		const seen = byKey.get(key);
		if (seen) {
			seen.accepted += count.accepted;
			seen.rejected += count.rejected;
		} else byKey.set(key, { ...count });
	}
	return byKey;
}

/**
 * The counts since a minute, oldest first.
 *
 * @example
 * const counts = await countsSince(env.DB, "2026-11-30T15:04");
 */
export async function countsSince(
	db: D1Database,
	minute: string,
): Promise<MinuteCount[]> {
	const { results } = await db
		.prepare(
			`SELECT source_id AS sourceId, minute, accepted, rejected FROM console_event_counts
			 WHERE minute >= ?1 ORDER BY minute, source_id`,
		)
		.bind(minute)
		.all<MinuteCount>();
	return results;
}

/**
 * Marks the live view watched until `untilMs` (0: nobody watches).
 *
 * @example
 * await setWatchedUntil(env.DB, Date.now() + 60_000);
 */
export async function setWatchedUntil(
	db: D1Database,
	untilMs: number,
): Promise<void> {
	await db
		.prepare(
			`INSERT INTO console_watch (id, until_ms) VALUES (1, ?1)
			 ON CONFLICT (id) DO UPDATE SET until_ms = excluded.until_ms`,
		)
		.bind(untilMs)
		.run();
}
