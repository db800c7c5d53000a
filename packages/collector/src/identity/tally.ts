/*
 * Identity's counters: events per profile and type (`profile_event_counts`) and events dropped
 * per suppression (`identity_suppressions.dropped_events`). They are the one part of identity
 * that is not idempotent, so they are not written by the identity commit: the EVENTS consumer
 * adds them in its finish batch (queues/events.ts, stage 7), the same transaction that records
 * the queue messages finished (db/seen.ts `finishStatement`). A redelivered message then either
 * finds itself finished and claims nothing, or finds nothing of it counted: each event counts
 * once, with no per-message bookkeeping row.
 *
 * Failure rule: must pass, as part of the finish batch (a failure retries the batch, and nothing
 * of it was counted).
 *
 * A profile may have been merged or deleted by another consumer between the identity commit and
 * the finish: a count goes to the profile its id is merged into (one hop always reaches a live
 * profile, identity/commit.ts), and a count for a deleted profile is not kept.
 */

/** What one resolved batch has to count when it finishes. */
export interface Tally {
	/** Resolved events as [window key, profile id, type]. */
	counted: [key: string, profileId: string, type: string][];
	/**
	 * Suppressed events as [window key, suppression key], one per identifier the event carries;
	 * only the keys that are suppressions count it.
	 */
	dropped: [key: string, suppressionKey: string][];
}

const COUNT_EVENTS = `
INSERT INTO profile_event_counts (profile_id, type, count)
SELECT s.id, f.value ->> 1, COUNT(*)
FROM json_each(?1) AS f
  JOIN profiles AS p ON p.id = f.value ->> 0
  JOIN profiles AS s ON s.id = coalesce(p.merged_into, p.id)
WHERE true GROUP BY 1, 2
ON CONFLICT DO UPDATE SET count = count + excluded.count`;

const COUNT_DROPPED = `
UPDATE identity_suppressions SET dropped_events = dropped_events + a.n
FROM (SELECT value AS k, COUNT(*) AS n FROM json_each(?1) GROUP BY 1) AS a
WHERE identity_suppressions.key_hash = a.k`;

/**
 * The statements that add the tallies' counters, leaving out the events in `skip` (those the
 * batch parks unfinished: they are counted when a replay finishes them). Empty when there is
 * nothing to count.
 *
 * @example
 * statements.push(...tallyStatements(env.DB, resolved.map((r) => r.tally), parkedKeys));
 */
export function tallyStatements(
	db: D1Database,
	tallies: readonly Tally[],
	skip: ReadonlySet<string> = new Set(),
): D1PreparedStatement[] {
	const counted: [string, string][] = [];
	const dropped: string[] = [];
	for (const tally of tallies) {
		for (const [key, profileId, type] of tally.counted)
			if (!skip.has(key)) counted.push([profileId, type]);
		for (const [key, suppressionKey] of tally.dropped)
			if (!skip.has(key)) dropped.push(suppressionKey);
	}
	const statements: D1PreparedStatement[] = [];
	if (counted.length > 0)
		statements.push(db.prepare(COUNT_EVENTS).bind(JSON.stringify(counted)));
	if (dropped.length > 0)
		statements.push(db.prepare(COUNT_DROPPED).bind(JSON.stringify(dropped)));
	return statements;
}
