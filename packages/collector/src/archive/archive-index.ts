/*
 * The archive index (migrations/0007_erasure.sql): which R2 objects hold events of which profile,
 * and which objects still hold an erased profile's events. Every query on `archive_index` and
 * `archive_rewrites` lives here.
 *
 * The seam, for any writer of event objects to R2 (the `r2` destination today): an object is gzip
 * NDJSON, one event per line, each with `context.profileId` when it has a profile; the writer
 * calls recordArchived before it puts the object, and fails its write if that fails. Erasure then
 * finds the objects (queueRewritesStatements) and archive/rewrite.ts removes the person's lines.
 */

/** The R2 bindings an index row may name. */
export type ArchiveBucket = "ARCHIVE" | "RECORDS";

/** One object about to be written, and the profiles whose events it holds. */
export interface ArchivedObject {
	key: string;
	profileIds: readonly string[];
}

/** An object to rewrite without the events of some erased profiles. */
export interface DueRewrite {
	bucket: string;
	key: string;
	profileIds: string[];
}

/**
 * Records which profiles' events some objects of a bucket will hold, in one D1 batch: an index
 * row per (profile, object), or — for a profile already erased (its deletion committed while the
 * write was under way) — straight away a rewrite row, so the erasure still reaches the object.
 * Call it before writing the objects: a row whose object was never written is harmless.
 *
 * @example
 * await recordArchived(env.DB, "ARCHIVE", [{ key: "events/dt=2026-11-01/hour=08/ab.ndjson.gz", profileIds: ["prof_1"] }], new Date());
 */
export async function recordArchived(
	db: D1Database,
	bucket: ArchiveBucket,
	objects: readonly ArchivedObject[],
	now: Date,
): Promise<void> {
	const statements = recordArchivedStatements(db, bucket, objects, now);
	if (statements.length > 0) await db.batch(statements);
}

/**
 * The statements of {@link recordArchived}, for a caller's own D1 batch (none when no object
 * holds a profile).
 *
 * @example
 * await env.DB.batch([...recordArchivedStatements(env.DB, "RECORDS", objects, now), ...more]);
 */
export function recordArchivedStatements(
	db: D1Database,
	bucket: ArchiveBucket,
	objects: readonly ArchivedObject[],
	now: Date,
): D1PreparedStatement[] {
	const rows = objects.flatMap((object) =>
		[...new Set(object.profileIds)].map((profileId) => ({
			p: profileId,
			k: object.key,
		})),
	);
	if (rows.length === 0) return [];
	const json = JSON.stringify(rows);
	const at = now.toISOString();
	return [
		db
			.prepare(
				`INSERT INTO archive_index (profile_id, bucket, object_key, written_at)
SELECT json_extract(value, '$.p'), ?2, json_extract(value, '$.k'), ?3 FROM json_each(?1)
WHERE json_extract(value, '$.p') NOT IN (SELECT profile_id FROM erased_profiles)
ON CONFLICT (profile_id, bucket, object_key) DO UPDATE SET written_at = excluded.written_at`,
			)
			.bind(json, bucket, at),
		db
			.prepare(
				`INSERT INTO archive_rewrites (profile_id, bucket, object_key, queued_at)
SELECT json_extract(j.value, '$.p'), ?2, json_extract(j.value, '$.k'), ?3
FROM json_each(?1) AS j JOIN erased_profiles AS e ON e.profile_id = json_extract(j.value, '$.p')
WHERE true
ON CONFLICT (profile_id, bucket, object_key) DO NOTHING`,
			)
			.bind(json, bucket, at),
	];
}

/**
 * The statements that turn the index rows of erased profiles into rewrite rows, for the
 * deletion's D1 batch: the first counts the objects concerned (`{ n }`), the second queues them,
 * the third deletes the index rows.
 *
 * @example
 * await db.batch([...queueRewritesStatements(db, ["prof_1", "prof_2"], new Date()), ...]);
 */
export function queueRewritesStatements(
	db: D1Database,
	profileIds: readonly string[],
	now: Date,
): [D1PreparedStatement, D1PreparedStatement, D1PreparedStatement] {
	const ids = JSON.stringify(profileIds);
	const mine = "profile_id IN (SELECT value FROM json_each(?1))";
	return [
		db
			.prepare(
				`SELECT COUNT(*) AS n FROM (SELECT DISTINCT bucket, object_key FROM archive_index WHERE ${mine})`,
			)
			.bind(ids),
		db
			.prepare(
				`INSERT INTO archive_rewrites (profile_id, bucket, object_key, queued_at)
SELECT profile_id, bucket, object_key, ?2 FROM archive_index WHERE ${mine}
ON CONFLICT (profile_id, bucket, object_key) DO NOTHING`,
			)
			.bind(ids, now.toISOString()),
		db.prepare(`DELETE FROM archive_index WHERE ${mine}`).bind(ids),
	];
}

/**
 * Objects to rewrite, oldest first: those queued before `queuedBefore` (a write that started
 * before the deletion has finished by then), each with every erased profile it still holds.
 *
 * @example
 * await dueRewrites(env.DB, new Date(Date.now() - 16 * 60_000), 50)
 * // [{ bucket: "ARCHIVE", key: "events/…ndjson.gz", profileIds: ["prof_1"] }]
 */
export async function dueRewrites(
	db: D1Database,
	queuedBefore: Date,
	limit: number,
): Promise<DueRewrite[]> {
	const { results } = await db
		.prepare(
			`SELECT bucket, object_key, json_group_array(profile_id) AS profile_ids
FROM archive_rewrites WHERE queued_at < ?1
GROUP BY bucket, object_key ORDER BY min(queued_at), object_key LIMIT ?2`,
		)
		.bind(queuedBefore.toISOString(), limit)
		.run<{ bucket: string; object_key: string; profile_ids: string }>();
	return results.map((row) => ({
		bucket: row.bucket,
		key: row.object_key,
		profileIds: JSON.parse(row.profile_ids) as string[],
	}));
}

/**
 * Marks an object as rewritten without these profiles' events.
 *
 * @example
 * await finishRewrite(env.DB, { bucket: "ARCHIVE", key, profileIds: ["prof_1"] });
 */
export async function finishRewrite(
	db: D1Database,
	rewrite: DueRewrite,
): Promise<void> {
	await db
		.prepare(
			`DELETE FROM archive_rewrites
WHERE bucket = ?1 AND object_key = ?2 AND profile_id IN (SELECT value FROM json_each(?3))`,
		)
		.bind(rewrite.bucket, rewrite.key, JSON.stringify(rewrite.profileIds))
		.run();
}

/**
 * The statement that counts the objects of a bucket still holding any of these profiles, for a
 * status batch (one row: `{ n }`).
 *
 * @example
 * const [pending] = await db.batch([pendingRewritesStatement(db, ["prof_1"], "RECORDS")]);
 */
export function pendingRewritesStatement(
	db: D1Database,
	profileIds: readonly string[],
	bucket: ArchiveBucket,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT COUNT(*) AS n FROM (SELECT DISTINCT object_key FROM archive_rewrites
WHERE profile_id IN (SELECT value FROM json_each(?1)) AND bucket = ?2)`,
		)
		.bind(JSON.stringify(profileIds), bucket);
}

/**
 * The objects of a bucket most recently indexed for some profiles, newest first.
 *
 * @example
 * await latestObjects(env.DB, "RECORDS", ["prof_1"], 8) // ["events/source=web/…/ab.parquet", …]
 */
export async function latestObjects(
	db: D1Database,
	bucket: ArchiveBucket,
	profileIds: readonly string[],
	limit: number,
): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT object_key, max(written_at) AS at FROM archive_index
WHERE profile_id IN (SELECT value FROM json_each(?1)) AND bucket = ?2
GROUP BY object_key ORDER BY at DESC, object_key DESC LIMIT ?3`,
		)
		.bind(JSON.stringify(profileIds), bucket, limit)
		.run<{ object_key: string }>();
	return results.map((r) => r.object_key);
}

/** Index rows deleted per statement, so one prune never holds the database for long. */
const PRUNE_CHUNK = 5000;

/**
 * Deletes index rows written before `before` (the event retention period), one bounded chunk;
 * the next run takes the rest. Rewrite rows are kept until done, whatever their age.
 *
 * @example
 * await pruneArchiveIndex(env.DB, new Date(Date.now() - 30 * 86_400_000)) // rows deleted
 */
export async function pruneArchiveIndex(
	db: D1Database,
	before: Date,
): Promise<number> {
	const { meta } = await db
		.prepare(
			`DELETE FROM archive_index WHERE (profile_id, bucket, object_key) IN (
  SELECT profile_id, bucket, object_key FROM archive_index WHERE written_at < ?1 LIMIT ?2)`,
		)
		.bind(before.toISOString(), PRUNE_CHUNK)
		.run();
	return meta.changes;
}
