import type { Plan } from "./plan";

/** What one resolved event writes. */
export interface EventWrite {
	profileId: string;
	/** The event's time for last-write-wins and first/last seen: already clamped (orderingTime). */
	timestamp: string;
	/** The writing source's trust rank (trust.ts TRUST_RANK). */
	trustRank: number;
	/** identify traits as [key, JSON value]. */
	traits: [string, string][];
	group?: { groupId: string; traits: [string, string][] };
}

/** The statements of one resolution write, and where the merge re-pointing result sits. */
export interface Commit {
	statements: D1PreparedStatement[];
	/** Index of the statement whose results are the identities moved by merges. */
	repointed: number | undefined;
}

const GUARD = `
INSERT INTO resolution_guard (ok)
SELECT COUNT(*) = ?2 FROM json_each(?1) AS g JOIN profiles AS p ON p.id = g.key
WHERE p.merged_into IS NULL AND (g.value IS NULL OR p.version = g.value)`;
const GUARD_DONE = "DELETE FROM resolution_guard";

const INSERT_PROFILES = `
INSERT INTO profiles (id, created_at, updated_at) SELECT value, ?2, ?2 FROM json_each(?1)`;
/* A plain INSERT: an identifier another resolver attached meanwhile fails the whole batch. */
const INSERT_IDENTITIES = `
INSERT INTO identities (type, value, profile_id, created_at)
SELECT value ->> 0, value ->> 1, value ->> 2, ?2 FROM json_each(?1)`;
const BUMP_VERSIONS = `
UPDATE profiles SET version = version + 1, updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))`;

/* Merges: ?1 is [[survivor, absorbed, source, message], …] with final survivors. */
const M = "(SELECT value ->> 0 AS s, value ->> 1 AS x FROM json_each(?1))";
const ABSORBED = "(SELECT value ->> 1 FROM json_each(?1))";
/*
 * Trait last-write-wins: a higher trust rank always wins; within a rank the later time (ties:
 * the larger JSON value, so every order of writes ends the same). A client source can
 * therefore never replace what a server source wrote, and reapplying a write changes nothing.
 */
const LWW = (table: string) => `
ON CONFLICT DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
  trust_rank = excluded.trust_rank
WHERE (excluded.trust_rank, excluded.updated_at, excluded.value)
    > (${table}.trust_rank, ${table}.updated_at, ${table}.value)`;
const MERGE = [
	`UPDATE identities SET profile_id = m.s FROM ${M} AS m WHERE identities.profile_id = m.x
RETURNING type, value, profile_id`,
	`INSERT INTO profile_traits (profile_id, key, value, updated_at, trust_rank)
SELECT m.s, t.key, t.value, t.updated_at, t.trust_rank FROM ${M} AS m JOIN profile_traits AS t ON t.profile_id = m.x
WHERE true ${LWW("profile_traits")}`,
	`DELETE FROM profile_traits WHERE profile_id IN ${ABSORBED}`,
	`INSERT INTO profile_event_counts (profile_id, type, count)
SELECT m.s, c.type, SUM(c.count) FROM ${M} AS m JOIN profile_event_counts AS c ON c.profile_id = m.x
WHERE true GROUP BY 1, 2
ON CONFLICT DO UPDATE SET count = count + excluded.count`,
	`DELETE FROM profile_event_counts WHERE profile_id IN ${ABSORBED}`,
	`INSERT INTO profile_groups (profile_id, group_id, first_seen, last_seen)
SELECT m.s, g.group_id, MIN(g.first_seen), MAX(g.last_seen) FROM ${M} AS m JOIN profile_groups AS g ON g.profile_id = m.x
WHERE true GROUP BY 1, 2
ON CONFLICT DO UPDATE SET first_seen = min(profile_groups.first_seen, excluded.first_seen),
  last_seen = max(profile_groups.last_seen, excluded.last_seen)`,
	`DELETE FROM profile_groups WHERE profile_id IN ${ABSORBED}`,
	`UPDATE profiles SET
  first_seen = coalesce(min(profiles.first_seen, a.f), profiles.first_seen, a.f),
  last_seen = coalesce(max(profiles.last_seen, a.l), profiles.last_seen, a.l)
FROM (SELECT m.s AS s, MIN(p.first_seen) AS f, MAX(p.last_seen) AS l
      FROM ${M} AS m JOIN profiles AS p ON p.id = m.x GROUP BY 1) AS a
WHERE profiles.id = a.s`,
	`UPDATE profiles SET merged_into = m.s, version = version + 1, updated_at = ?2
FROM ${M} AS m WHERE profiles.id = m.x`,
	// Keeps every merged_into pointing at a live profile, so one hop always reaches it.
	`UPDATE profiles SET merged_into = m.s FROM ${M} AS m WHERE profiles.merged_into = m.x`,
	`INSERT INTO profile_merges (survivor_id, absorbed_id, source_id, message_id, merged_at)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2 FROM json_each(?1)`,
];

/*
 * Per-event writes: ?1 is [[profile, timestamp], …]. First and last seen are min/max, so
 * idempotent. The counters are not, and are added when the consumer finishes the batch
 * (tally.ts); the lifetime value is a computed trait (audiences/).
 */
const SEEN = `
UPDATE profiles SET
  first_seen = coalesce(min(profiles.first_seen, a.f), profiles.first_seen, a.f),
  last_seen = coalesce(max(profiles.last_seen, a.l), profiles.last_seen, a.l),
  updated_at = ?2
FROM (SELECT f.value ->> 0 AS p, MIN(f.value ->> 1) AS f, MAX(f.value ->> 1) AS l
      FROM json_each(?1) AS f GROUP BY 1) AS a
WHERE profiles.id = a.p`;

/* ?1 is [[owner, key, JSON value, time, trust rank], …]; LWW above decides each conflict. */
const UPSERT_TRAITS = (table: string, owner: string) => `
INSERT INTO ${table} (${owner}, key, value, updated_at, trust_rank)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1)
WHERE true ${LWW(table)}`;
const UPSERT_GROUPS = `
INSERT INTO profile_groups (profile_id, group_id, first_seen, last_seen)
SELECT value ->> 0, value ->> 1, MIN(value ->> 2), MAX(value ->> 2) FROM json_each(?1)
WHERE true GROUP BY 1, 2
ON CONFLICT DO UPDATE SET first_seen = min(profile_groups.first_seen, excluded.first_seen),
  last_seen = max(profile_groups.last_seen, excluded.last_seen)`;

const INSERT_REFUSALS = `
INSERT INTO identity_refusals (source_id, message_id, profile_id, refused_profile_id, identifier_type, reason, created_at)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?2 FROM json_each(?1)
WHERE true ON CONFLICT DO NOTHING`;

/**
 * Turns a plan and its events into the statements of one D1 batch — one transaction, one round
 * trip. It opens with the guard (every existing profile the plan relied on is live and, where
 * the plan read it, at the version read) and closes by clearing it; between them, new
 * profiles, identities, merges, version bumps, per-event writes, refusals and drops. Any
 * failure rolls everything back.
 *
 * @example
 * const { statements } = commitStatements(env.DB, plan, writes, new Date());
 * await env.DB.batch(statements);
 */
export function commitStatements(
	db: D1Database,
	plan: Plan,
	events: readonly EventWrite[],
	now: Date,
): Commit {
	const at = now.toISOString();
	const statements: D1PreparedStatement[] = [];
	// D1 rejects a statement bound with more values than it has parameters.
	const add = (sql: string, rows: unknown) => {
		const values = sql.includes("?2")
			? [JSON.stringify(rows), at]
			: [JSON.stringify(rows)];
		statements.push(db.prepare(sql).bind(...values));
	};
	let repointed: number | undefined;

	const guarded = plan.guard.size > 0;
	if (guarded)
		statements.push(
			db
				.prepare(GUARD)
				.bind(JSON.stringify(Object.fromEntries(plan.guard)), plan.guard.size),
		);
	if (plan.created.length > 0) add(INSERT_PROFILES, plan.created);
	if (plan.attachments.length > 0)
		add(
			INSERT_IDENTITIES,
			plan.attachments.map((a) => [
				a.identifier.type,
				a.identifier.value,
				a.profileId,
			]),
		);
	if (plan.merges.length > 0) {
		const rows = plan.merges.map((m) => [
			m.survivorId,
			m.absorbedId,
			m.sourceId,
			m.messageId,
		]);
		repointed = statements.length;
		for (const sql of MERGE) add(sql, rows);
	}
	if (plan.changed.length > 0) add(BUMP_VERSIONS, plan.changed);

	if (events.length > 0) {
		add(
			SEEN,
			events.map((e) => [e.profileId, e.timestamp]),
		);
		const traits = events.flatMap((e) =>
			e.traits.map(([key, value]) => [
				e.profileId,
				key,
				value,
				e.timestamp,
				e.trustRank,
			]),
		);
		if (traits.length > 0)
			add(UPSERT_TRAITS("profile_traits", "profile_id"), traits);
		const groups = events.flatMap((e) =>
			e.group ? [[e.profileId, e.group.groupId, e.timestamp]] : [],
		);
		if (groups.length > 0) add(UPSERT_GROUPS, groups);
		const groupTraits = events.flatMap((e) =>
			e.group
				? e.group.traits.map(([key, value]) => [
						e.group?.groupId,
						key,
						value,
						e.timestamp,
						e.trustRank,
					])
				: [],
		);
		if (groupTraits.length > 0)
			add(UPSERT_TRAITS("group_traits", "group_id"), groupTraits);
	}
	if (plan.refusals.length > 0)
		add(
			INSERT_REFUSALS,
			plan.refusals.map((r) => [
				r.sourceId,
				r.messageId,
				r.profileId,
				r.refusedProfileId,
				r.identifierType,
				r.reason,
			]),
		);
	if (guarded) statements.push(db.prepare(GUARD_DONE));
	return { statements, repointed };
}
