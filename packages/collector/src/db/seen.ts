import type { QueuedEvent } from "../event";
import { hash64 } from "../hash";

/*
 * The deduplication window (migrations/0010_dedup_window.sql): which (source, messageId) pairs
 * were claimed in the last DEDUP_WINDOW_HOURS, by which queue message, and which queue messages
 * finished. Every query on `seen` and `finished_messages` lives here.
 *
 * The claim is the deduplication point, and it holds under concurrency because SQLite serialises
 * writes to the key. A conflicting row comes back (and so gets processed) only when the same
 * queue message claimed it and has not finished: a redelivery after a crash. A copy of the event
 * in another message gets nothing. The one exception is a row released to `parked` (owner 0):
 * the next message that carries the event — a replay — takes it over and finishes it.
 *
 * A key is 64 bits of SHA-256, so two different events share one with odds of about n²/2⁶⁵
 * among n keys in the window: 3·10⁻⁶ at 10 million (a day at 115 events/s), and the loser would
 * be taken for a duplicate. The row is 8 bytes of key (the rowid), the owner and the claim time:
 * about 30 bytes on a page, whatever the event's size.
 */

/** One queue message's event, as the consumer sees it. */
export interface IncomingEvent extends QueuedEvent {
	/** The queue message id: stable across redeliveries of that message. */
	queueMessageId: string;
	/** The event as JSON text, exactly as ingest serialised it. */
	json: string;
}

/** An event this queue message claimed: it has to process it. */
export interface ClaimedEvent extends IncomingEvent {
	/** Its key in the window (decimal text of a signed 64-bit integer). */
	key: string;
	/** The claiming queue message's hash (decimal text), shared by its events. */
	owner: string;
}

/** The owner of a row whose event was parked unfinished: any message may take it over. */
const RELEASED = 0;

const CLAIM = `
INSERT INTO seen (key, owner, claimed_at)
SELECT CAST(value AS INTEGER), CAST(?2 AS INTEGER), ?3 FROM json_each(?1) WHERE true
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner
  WHERE seen.owner IN (excluded.owner, ${RELEASED})
    AND NOT EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = excluded.owner)
RETURNING CAST(key AS TEXT) AS key`;

/** The unfinished rows among some keys: their owner has no finished row. */
const UNFINISHED = `key IN (SELECT CAST(value AS INTEGER) FROM json_each(?1))
  AND NOT EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner)`;

/**
 * The window key of an event: 64 bits of SHA-256(sourceId "\n" messageId).
 *
 * @example
 * await seenKey("web", "m1") // "-639845896319181009"
 */
export function seenKey(sourceId: string, messageId: string): Promise<string> {
	return hash64(`${sourceId}\n${messageId}`);
}

/**
 * The owner value of a queue message: 64 bits of SHA-256 of its id.
 *
 * @example
 * await ownerOf("a1b2c3") // "-1315304351837256873"
 */
export function ownerOf(queueMessageId: string): Promise<string> {
	return hash64(`queue-message\n${queueMessageId}`);
}

/**
 * Claims events (one D1 round trip for the whole batch, one statement per queue message) and
 * returns those that are new, or redelivered and unfinished — in input order. Duplicates are
 * left out. Events must be unique by (sourceId, messageId) within one call.
 *
 * @example
 * const fresh = await claimEvents(env.DB, incoming, new Date());
 */
export async function claimEvents(
	db: D1Database,
	incoming: readonly IncomingEvent[],
	now: Date,
): Promise<ClaimedEvent[]> {
	if (incoming.length === 0) return [];
	const keyed = await Promise.all(
		incoming.map(async (item) => ({
			item,
			key: await seenKey(item.sourceId, item.event.messageId),
		})),
	);
	const groups = new Map<string, string[]>();
	for (const { item, key } of keyed) {
		const keys = groups.get(item.queueMessageId);
		if (keys) keys.push(key);
		else groups.set(item.queueMessageId, [key]);
	}
	const owners = new Map<string, string>();
	for (const id of groups.keys()) owners.set(id, await ownerOf(id));
	const statement = db.prepare(CLAIM);
	const at = Math.floor(now.getTime() / 1000);
	const results = await db.batch<{ key: string }>(
		[...groups].map(([id, keys]) =>
			statement.bind(JSON.stringify(keys), owners.get(id), at),
		),
	);
	const claimed = new Set(results.flatMap((r) => r.results.map((x) => x.key)));
	return keyed
		.filter(({ key }) => claimed.has(key))
		.map(({ item, key }) => ({
			...item,
			key,
			owner: owners.get(item.queueMessageId) as string,
		}));
}

/**
 * The statement that records queue messages as finished (one row each), so a redelivery of one
 * claims nothing. Put it after any {@link releaseStatement} of the same batch.
 *
 * @example
 * await env.DB.batch([finishStatement(env.DB, ["5082163410934592411"], new Date())]);
 */
export function finishStatement(
	db: D1Database,
	owners: readonly string[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO finished_messages (owner, at)
SELECT CAST(value AS INTEGER), ?2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
		)
		.bind(
			JSON.stringify([...new Set(owners)]),
			Math.floor(now.getTime() / 1000),
		);
}

/**
 * The statement that releases the unfinished rows of events being parked: the next queue message
 * carrying such an event (a replay) takes its row over and finishes it, where it would otherwise
 * be skipped as a copy. Rows of finished messages are left alone.
 *
 * @example
 * await env.DB.batch([releaseStatement(env.DB, [await seenKey("web", "m1")])]);
 */
export function releaseStatement(
	db: D1Database,
	keys: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(`UPDATE seen SET owner = ${RELEASED} WHERE ${UNFINISHED}`)
		.bind(JSON.stringify(keys));
}

/** The key space is walked in this many ranges, a few per prune. */
export const PRUNE_RANGES = 256;
/** Ranges pruned per run: with a run a minute, the whole window is walked every 64 minutes. */
const RANGES_PER_RUN = 4;
const SPAN = 2n ** 64n / BigInt(PRUNE_RANGES);
const LOWEST = -(2n ** 63n);

/** What one prune deleted, per table. */
export interface PruneRun {
	seen: number;
	messages: number;
	/** The next range to prune. */
	next: number;
}

/**
 * Deletes window rows older than `before` in the next few ranges of the key space (rows of
 * `seen` and `finished_messages` whose key or owner falls in them), then moves the cursor on.
 * The key is each table's primary key, so each statement reads one range of it and no index on
 * the time is needed; a run stays bounded at any volume.
 *
 * @example
 * await pruneWindow(env.DB, new Date(Date.now() - 48 * 3_600_000)) // { seen: 1204, messages: 31, next: 8 }
 */
export async function pruneWindow(
	db: D1Database,
	before: Date,
): Promise<PruneRun> {
	const cursor = await db
		.prepare("SELECT position FROM store_cursors WHERE name = 'window_prune'")
		.first<{ position: string }>();
	const first = Number(cursor?.position ?? 0) % PRUNE_RANGES;
	const cutoff = Math.floor(before.getTime() / 1000);
	const statements: D1PreparedStatement[] = [];
	for (let i = 0; i < RANGES_PER_RUN; i++) {
		const range = (first + i) % PRUNE_RANGES;
		const low = LOWEST + BigInt(range) * SPAN;
		const bounds = [low.toString(), (low + SPAN - 1n).toString(), cutoff];
		const between = "BETWEEN CAST(?1 AS INTEGER) AND CAST(?2 AS INTEGER)";
		statements.push(
			db
				.prepare(`DELETE FROM seen WHERE key ${between} AND claimed_at < ?3`)
				.bind(...bounds),
			db
				.prepare(
					`DELETE FROM finished_messages WHERE owner ${between} AND at < ?3`,
				)
				.bind(...bounds),
		);
	}
	const next = (first + RANGES_PER_RUN) % PRUNE_RANGES;
	statements.push(
		db
			.prepare(
				`INSERT INTO store_cursors (name, position) VALUES ('window_prune', ?1)
ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
			)
			.bind(String(next)),
	);
	const results = await db.batch(statements);
	const sum = (table: number) =>
		results
			.filter((_, i) => i < RANGES_PER_RUN * 2 && i % 2 === table)
			.reduce((n, r) => n + r.meta.changes, 0);
	return { seen: sum(0), messages: sum(1), next };
}
