import { recordArchivedStatements } from "../../packages/collector/src/archive/archive-index";
import {
	PROFILES_METADATA,
	profileFilter,
} from "../../packages/collector/src/archive/profile-filter";
import type {
	EnrichedEvent,
	QueuedEvent,
} from "../../packages/collector/src/event";
import {
	RECORD_CONTENT_TYPE,
	recordObjects,
} from "../../packages/collector/src/records/records";

/*
 * `npm run events -- migrate`: moves the rows of the D1 table that held every event before the
 * events of record (renamed `events_legacy` by migration 0010) into R2, as the consumer writes
 * them, with the erasure index. Resumable: pages go by row id, the last one done is kept in D1
 * (store_cursors 'legacy_migration'), and a page run again writes the very same objects (their
 * keys are hashes of their events). `--drop` drops the table once every row's messageId is found
 * in R2 (the check is the caller's, through the query command).
 */

/** The R2 binding as the migration uses it (Node's type check has no Workers types). */
export interface MigrationBucket {
	put(
		key: string,
		value: Uint8Array,
		options?: {
			httpMetadata?: { contentType?: string };
			customMetadata?: Record<string, string>;
		},
	): Promise<unknown>;
}

/** Rows read per page: about 2 KB each, so a page is a few megabytes at most. */
export const PAGE_ROWS = 1000;

const CURSOR = "legacy_migration";

/** What a run did. */
export interface MigrationRun {
	/** Rows of events_legacy when the run started (0: no table). */
	legacyRows: number;
	/** Rows moved by this run (emptied rows of erased or suppressed events are skipped). */
	moved: number;
	skipped: number;
	objects: number;
	/** Whether every row is done (the cursor reached the last id). */
	done: boolean;
}

interface LegacyRow {
	id: number;
	source_id: string;
	payload: string;
	profile_id: string | null;
}

/**
 * Moves events_legacy to R2, page by page from the cursor, and answers what it did. Each page:
 * objects put, erasure index rows written, then the cursor moved.
 *
 * @example
 * await migrateLegacy(proxy.env.DB, proxy.env.RECORDS) // { legacyRows: 20845, moved: 20845, skipped: 0, objects: 42, done: true }
 */
export async function migrateLegacy(
	db: D1Database,
	bucket: MigrationBucket,
	pageRows = PAGE_ROWS,
): Promise<MigrationRun> {
	const run: MigrationRun = {
		legacyRows: await legacyRows(db),
		moved: 0,
		skipped: 0,
		objects: 0,
		done: false,
	};
	if (run.legacyRows === 0) return { ...run, done: true };
	const cursor = await db
		.prepare("SELECT position FROM store_cursors WHERE name = ?1")
		.bind(CURSOR)
		.first<{ position: string }>();
	let after = Number(cursor?.position ?? 0);
	for (;;) {
		const { results } = await db
			.prepare(
				"SELECT id, source_id, payload, profile_id FROM events_legacy WHERE id > ?1 ORDER BY id LIMIT ?2",
			)
			.bind(after, pageRows)
			.run<LegacyRow>();
		if (results.length === 0) break;
		const events: QueuedEvent[] = [];
		for (const row of results) {
			const event = eventOf(row);
			if (event) events.push({ sourceId: row.source_id, event });
			else run.skipped++;
		}
		const objects = await recordObjects(events);
		for (const object of objects)
			await bucket.put(object.key, object.body, {
				httpMetadata: { contentType: RECORD_CONTENT_TYPE },
				customMetadata: {
					[PROFILES_METADATA]: profileFilter(object.profileIds),
				},
			});
		after = results[results.length - 1]?.id ?? after;
		await db.batch([
			...recordArchivedStatements(db, "RECORDS", objects, new Date()),
			db
				.prepare(
					`INSERT INTO store_cursors (name, position) VALUES (?1, ?2)
ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
				)
				.bind(CURSOR, String(after)),
		]);
		run.moved += events.length;
		run.objects += objects.length;
	}
	return { ...run, done: true };
}

/**
 * The (source, messageId) pairs of every row still holding an event, for the count check.
 *
 * @example
 * await legacyIds(db) // [["web", "01J…"], …]
 */
export async function legacyIds(db: D1Database): Promise<[string, string][]> {
	if ((await legacyRows(db)) === 0) return [];
	const ids: [string, string][] = [];
	let after = 0;
	for (;;) {
		const { results } = await db
			.prepare(
				"SELECT id, source_id, message_id FROM events_legacy WHERE id > ?1 AND payload <> '{}' ORDER BY id LIMIT 5000",
			)
			.bind(after)
			.run<{ id: number; source_id: string; message_id: string }>();
		if (results.length === 0) return ids;
		for (const row of results) ids.push([row.source_id, row.message_id]);
		after = results[results.length - 1]?.id ?? after;
	}
}

/**
 * Drops events_legacy (call it only once the count check passed).
 *
 * @example
 * await dropLegacy(db);
 */
export async function dropLegacy(db: D1Database): Promise<void> {
	await db.batch([
		db.prepare("DROP TABLE IF EXISTS events_legacy"),
		db.prepare("DELETE FROM store_cursors WHERE name = ?1").bind(CURSOR),
	]);
}

async function legacyRows(db: D1Database): Promise<number> {
	const exists = await db
		.prepare(
			"SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events_legacy'",
		)
		.first<number>("n");
	if (!exists) return 0;
	return (
		(await db
			.prepare("SELECT COUNT(*) AS n FROM events_legacy")
			.first<number>("n")) ?? 0
	);
}

/** The stored event with its resolved profile, or nothing for a row erasure emptied. */
function eventOf(row: LegacyRow): EnrichedEvent | undefined {
	if (row.payload === "{}") return undefined;
	const event = JSON.parse(row.payload) as EnrichedEvent;
	const { profileId: _client, ...context } = event.context ?? {};
	return {
		...event,
		context: row.profile_id
			? { ...context, profileId: row.profile_id }
			: context,
	};
}
