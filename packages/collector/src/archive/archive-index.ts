/*
 * The erasure index (migrations 0015 and 0019): which hour partitions of an R2 bucket hold events
 * of which profile, and which partitions still hold an erased profile's events. Every query on
 * `archive_partition_names`, `archive_profile_partitions` and `archive_partition_rewrites` lives
 * here.
 *
 * A row names a partition (an object's folder: its key up to the last "/"), not an object, by
 * its number in `archive_partition_names`, and is written only when missing: the index grows
 * with people × the hours they were active, never with events or objects, and a batch of people
 * already indexed this hour writes no row.
 *
 * The seam, for any writer of event objects to R2 (the events of record and the `r2`
 * destination): the writer calls recordArchived before it puts its objects, and fails its write
 * if that fails; each object carries a filter of its profiles (profile-filter.ts). Erasure finds
 * the partitions (queueRewritesStatements) and archive/rewrite.ts rewrites every object of each
 * that may hold the person.
 */

/** The R2 bindings an index row may name. */
export type ArchiveBucket = "ARCHIVE" | "RECORDS";

/** One object about to be written, and the profiles whose events it holds. */
export interface ArchivedObject {
	key: string;
	profileIds: readonly string[];
}

/** A partition to rewrite without the events of some erased profiles. */
export interface DueRewrite {
	bucket: string;
	/** The folder, ending in "/" (or "" for the bucket's root). */
	partition: string;
	profileIds: string[];
}

/**
 * The partition (folder) of an object key: the key up to and including its last "/".
 *
 * @example
 * partitionOf("events/source=web/dt=2026-11-01/hour=08/ab.parquet") // "events/source=web/dt=2026-11-01/hour=08/"
 */
export function partitionOf(key: string): string {
	return key.slice(0, key.lastIndexOf("/") + 1);
}

/**
 * Records which profiles' events some objects of a bucket will hold, in one D1 batch: an index
 * row per (profile, partition) not indexed yet, or — for a profile already erased (its deletion
 * committed while the write was under way) — a rewrite row, so the erasure still reaches the
 * object. Call it before writing the objects: a row whose object was never written is harmless.
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
	const rows = new Map<string, { p: string; k: string }>();
	const partitions = new Set<string>();
	for (const object of objects) {
		const partition = partitionOf(object.key);
		if (object.profileIds.length > 0) partitions.add(partition);
		for (const profileId of object.profileIds)
			rows.set(`${profileId}\n${partition}`, { p: profileId, k: partition });
	}
	if (rows.size === 0) return [];
	const json = JSON.stringify([...rows.values()]);
	const at = now.toISOString();
	return [
		// Only new rows are written: an existing one costs a read, no write. A partition's name
		// is written once, by its first batch.
		db
			.prepare(
				`INSERT INTO archive_partition_names (bucket, partition, written_at)
SELECT ?2, value, ?3 FROM json_each(?1) WHERE true
ON CONFLICT (bucket, partition) DO NOTHING`,
			)
			.bind(JSON.stringify([...partitions]), bucket, at),
		db
			.prepare(
				`INSERT INTO archive_profile_partitions (profile_id, partition_id)
SELECT json_extract(j.value, '$.p'), n.id FROM json_each(?1) AS j
JOIN archive_partition_names AS n ON n.bucket = ?2 AND n.partition = json_extract(j.value, '$.k')
WHERE json_extract(j.value, '$.p') NOT IN (SELECT profile_id FROM erased_profiles)
ON CONFLICT (profile_id, partition_id) DO NOTHING`,
			)
			.bind(json, bucket),
		// A queued rewrite waits for this write too: its grace period starts again.
		db
			.prepare(
				`INSERT INTO archive_partition_rewrites (profile_id, bucket, partition, queued_at)
SELECT json_extract(j.value, '$.p'), ?2, json_extract(j.value, '$.k'), ?3
FROM json_each(?1) AS j JOIN erased_profiles AS e ON e.profile_id = json_extract(j.value, '$.p')
WHERE true
ON CONFLICT (profile_id, bucket, partition) DO UPDATE SET queued_at = excluded.queued_at`,
			)
			.bind(json, bucket, at),
	];
}

/**
 * The statements that turn the index rows of erased profiles into rewrite rows, for the
 * deletion's D1 batch: the first counts the partitions concerned (`{ n }`), the second queues
 * them, the third deletes the index rows.
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
				`SELECT COUNT(DISTINCT partition_id) AS n FROM archive_profile_partitions WHERE ${mine}`,
			)
			.bind(ids),
		db
			.prepare(
				`INSERT INTO archive_partition_rewrites (profile_id, bucket, partition, queued_at)
SELECT p.profile_id, n.bucket, n.partition, ?2
FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id
WHERE p.${mine}
ON CONFLICT (profile_id, bucket, partition) DO NOTHING`,
			)
			.bind(ids, now.toISOString()),
		db
			.prepare(`DELETE FROM archive_profile_partitions WHERE ${mine}`)
			.bind(ids),
	];
}

/**
 * Partitions to rewrite, oldest first: those queued before `queuedBefore` (a write that started
 * before the deletion has finished by then), each with every erased profile it still holds.
 *
 * @example
 * await dueRewrites(env.DB, new Date(Date.now() - 16 * 60_000), 10)
 * // [{ bucket: "ARCHIVE", partition: "events/dt=2026-11-01/hour=08/", profileIds: ["prof_1"] }]
 */
export async function dueRewrites(
	db: D1Database,
	queuedBefore: Date,
	limit: number,
): Promise<DueRewrite[]> {
	const { results } = await db
		.prepare(
			`SELECT bucket, partition, json_group_array(profile_id) AS profile_ids
FROM archive_partition_rewrites WHERE queued_at < ?1
GROUP BY bucket, partition ORDER BY min(queued_at), partition LIMIT ?2`,
		)
		.bind(queuedBefore.toISOString(), limit)
		.run<{ bucket: string; partition: string; profile_ids: string }>();
	return results.map((row) => ({
		bucket: row.bucket,
		partition: row.partition,
		profileIds: JSON.parse(row.profile_ids) as string[],
	}));
}

/**
 * Marks a partition as rewritten without these profiles' events. A row queued again at or after
 * `queuedBefore` (a write landed meanwhile) stays for the next run.
 *
 * @example
 * await finishRewrite(env.DB, { bucket: "ARCHIVE", partition, profileIds: ["prof_1"] }, cutoff);
 */
export async function finishRewrite(
	db: D1Database,
	rewrite: DueRewrite,
	queuedBefore: Date,
): Promise<void> {
	await db
		.prepare(
			`DELETE FROM archive_partition_rewrites
WHERE bucket = ?1 AND partition = ?2 AND profile_id IN (SELECT value FROM json_each(?3)) AND queued_at < ?4`,
		)
		.bind(
			rewrite.bucket,
			rewrite.partition,
			JSON.stringify(rewrite.profileIds),
			queuedBefore.toISOString(),
		)
		.run();
}

/**
 * The statement that counts the partitions of a bucket still holding any of these profiles,
 * for a status batch (one row: `{ n }`).
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
			`SELECT COUNT(*) AS n FROM (SELECT DISTINCT partition FROM archive_partition_rewrites
WHERE profile_id IN (SELECT value FROM json_each(?1)) AND bucket = ?2)`,
		)
		.bind(JSON.stringify(profileIds), bucket);
}

/**
 * The partitions of a bucket holding some profiles' events, most recently begun first.
 *
 * @example
 * await latestPartitions(env.DB, "RECORDS", ["prof_1"], 2) // ["events/source=web/dt=2026-11-01/hour=09/", …]
 */
export async function latestPartitions(
	db: D1Database,
	bucket: ArchiveBucket,
	profileIds: readonly string[],
	limit: number,
): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT n.partition, n.written_at AS at
FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id
WHERE p.profile_id IN (SELECT value FROM json_each(?1)) AND n.bucket = ?2
GROUP BY n.id ORDER BY at DESC, n.partition DESC LIMIT ?3`,
		)
		.bind(JSON.stringify(profileIds), bucket, limit)
		.run<{ partition: string }>();
	return results.map((r) => r.partition);
}

/** Index rows deleted per statement, so one prune never holds the database for long. */
const PRUNE_CHUNK = 5000;
/**
 * A row is written when its partition's hour begins at the earliest, and retention deletes the
 * partition once its hour has ended: keeping rows an hour longer covers the partition's life.
 */
const PRUNE_MARGIN_MS = 3_600_000;

/**
 * Deletes the index rows of partitions first indexed more than an hour before `before` (the
 * event retention period), one bounded chunk, then the names of those partitions left with no
 * row; the next run takes the rest. Rewrite rows are kept until done. Returns the index rows
 * deleted.
 *
 * @example
 * await pruneArchiveIndex(env.DB, new Date(Date.now() - 30 * 86_400_000)) // rows deleted
 */
export async function pruneArchiveIndex(
	db: D1Database,
	before: Date,
): Promise<number> {
	const cutoff = new Date(before.getTime() - PRUNE_MARGIN_MS).toISOString();
	const [rows] = await db.batch([
		db
			.prepare(
				`DELETE FROM archive_profile_partitions WHERE (profile_id, partition_id) IN (
  SELECT p.profile_id, p.partition_id FROM archive_partition_names AS n
  JOIN archive_profile_partitions AS p ON p.partition_id = n.id
  WHERE n.written_at < ?1 LIMIT ?2)`,
			)
			.bind(cutoff, PRUNE_CHUNK),
		db
			.prepare(
				`DELETE FROM archive_partition_names WHERE written_at < ?1
  AND NOT EXISTS (SELECT 1 FROM archive_profile_partitions AS p
    WHERE p.partition_id = archive_partition_names.id)`,
			)
			.bind(cutoff),
	]);
	return rows?.meta.changes ?? 0;
}
