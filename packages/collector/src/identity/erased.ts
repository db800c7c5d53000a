/*
 * Erased profile ids (migrations/0007_erasure.sql): every query on `erased_profiles` lives here.
 * A deletion writes its profile and the profiles it had absorbed in its own transaction, so the
 * moment the person is gone from D1, everything still carrying their events (DELIVERIES messages
 * on the queue, an archive write under way) can tell. Rows are never pruned: one small row per
 * deleted profile id, and a DELIVERIES message or a parked row may come back long after.
 */

/**
 * The statement that marks profile ids as erased, for the deletion's D1 batch. `erasedAs` is the
 * profile the deletion names (profile_deletions.profile_id).
 *
 * @example
 * await db.batch([..., markErasedStatement(db, ["prof_1", "prof_2"], "prof_1", new Date())]);
 */
export function markErasedStatement(
	db: D1Database,
	profileIds: readonly string[],
	erasedAs: string,
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO erased_profiles (profile_id, erased_as, erased_at)
SELECT value, ?2, ?3 FROM json_each(?1) WHERE true
ON CONFLICT (profile_id) DO NOTHING`,
		)
		.bind(JSON.stringify(profileIds), erasedAs, now.toISOString());
}

/**
 * Which of these profile ids belong to an erased person. No query when there are none to check.
 *
 * @example
 * await erasedAmong(env.DB, ["prof_1", "prof_9"]) // Set { "prof_1" }
 */
export async function erasedAmong(
	db: D1Database,
	profileIds: Iterable<string>,
): Promise<Set<string>> {
	const ids = [...new Set(profileIds)];
	if (ids.length === 0) return new Set();
	const { results } = await db
		.prepare(
			"SELECT profile_id FROM erased_profiles WHERE profile_id IN (SELECT value FROM json_each(?1))",
		)
		.bind(JSON.stringify(ids))
		.run<{ profile_id: string }>();
	return new Set(results.map((row) => row.profile_id));
}

/**
 * The statement that reads the profile ids a deletion erased (its own first), for a status batch.
 * Rows come back as `{ profile_id }`.
 *
 * @example
 * const [members] = await db.batch([erasedMembersStatement(db, "prof_1")]);
 */
export function erasedMembersStatement(
	db: D1Database,
	erasedAs: string,
): D1PreparedStatement {
	return db
		.prepare(
			"SELECT profile_id FROM erased_profiles WHERE erased_as = ?1 ORDER BY profile_id != ?1, profile_id",
		)
		.bind(erasedAs);
}
