/** Suppressions are kept as long as any source may need them (suppressionDays is at most 365). */
const SUPPRESSION_KEEP_MS = 365 * 86_400_000;
/** Rows deleted per table per run (hourly), so one cleanup never holds the database for long. */
const CHUNK = 5000;

/**
 * Deletes identity records that only grow: refusals (one per refused event, kept as long as
 * events are) and suppressions older than the longest suppression a source can configure.
 *
 * @example
 * await deleteIdentityRecordsBefore(env.DB, new Date(Date.now() - 30 * 86_400_000), new Date())
 * // { refusals: 12, suppressions: 0 }
 */
export async function deleteIdentityRecordsBefore(
	db: D1Database,
	refusalsBefore: Date,
	now: Date,
): Promise<{ refusals: number; suppressions: number }> {
	const [refusals, suppressions] = await db.batch([
		db
			.prepare(
				"DELETE FROM identity_refusals WHERE id IN (SELECT id FROM identity_refusals WHERE created_at < ?1 LIMIT ?2)",
			)
			.bind(refusalsBefore.toISOString(), CHUNK),
		db
			.prepare(
				"DELETE FROM identity_suppressions WHERE key_hash IN (SELECT key_hash FROM identity_suppressions WHERE deleted_at < ?1 LIMIT ?2)",
			)
			.bind(new Date(now.getTime() - SUPPRESSION_KEEP_MS).toISOString(), CHUNK),
	]);
	return {
		refusals: refusals?.meta.changes ?? 0,
		suppressions: suppressions?.meta.changes ?? 0,
	};
}
