import type { LimitCounts } from "./cache";
import { type Identifier, identityKey } from "./identifiers";
import type { GraphProfile } from "./plan";

/** What one resolution attempt needs to know from D1. */
export interface GraphQuery {
	/** Identifiers to look up in `identities` (those the cache had no hint for). */
	identifiers: readonly Identifier[];
	/** Profile ids the cache named: read so that a merged one is followed to its survivor. */
	hintedProfiles: readonly string[];
	/** Identifier types whose per-profile counts the limits need. */
	limitedTypes: readonly string[];
	/** Suppression keys (see suppression.ts) of the batch's identifiers. */
	suppressionKeys: readonly string[];
}

/** The graph as D1 has it now, for the identifiers and profiles asked about. */
export interface GraphSnapshot {
	/** Identity key → live profile id, for the looked-up identifiers that exist. */
	owners: Map<string, string>;
	/** Live profiles, exact. */
	profiles: Map<string, GraphProfile>;
	/** Hinted profile id → the live profile that now holds its identities (null: deleted). */
	forward: Map<string, string | null>;
	/** Suppression key → when its profile was deleted. */
	suppressions: Map<string, string>;
}

const SELECT_IDENTITIES = `
SELECT i.type, i.value, i.profile_id FROM json_each(?1) AS k
JOIN identities AS i ON i.type = k.value ->> 0 AND i.value = k.value ->> 1`;

/*
 * The profiles named by hints or by the identities found, plus — one hop is enough, because a
 * merge re-points every profile the absorbed one had absorbed — the survivors of merged ones.
 */
const SELECT_PROFILES = `
WITH ref(id) AS (
  SELECT value FROM json_each(?1)
  UNION
  SELECT i.profile_id FROM json_each(?2) AS k
  JOIN identities AS i ON i.type = k.value ->> 0 AND i.value = k.value ->> 1
),
wanted(id) AS (
  SELECT id FROM ref
  UNION
  SELECT p.merged_into FROM profiles AS p JOIN ref ON p.id = ref.id WHERE p.merged_into IS NOT NULL
)
SELECT p.id, p.created_at, p.version, p.merged_into,
  (SELECT json_group_object(c.type, c.n) FROM (
     SELECT type, COUNT(*) AS n FROM identities
     WHERE profile_id = p.id AND type IN (SELECT value FROM json_each(?3)) GROUP BY type
   ) AS c) AS counts
FROM profiles AS p JOIN wanted AS w ON p.id = w.id`;

const SELECT_SUPPRESSIONS = `
SELECT key_hash, deleted_at FROM identity_suppressions
WHERE key_hash IN (SELECT value FROM json_each(?1))`;

/**
 * Reads what a resolution attempt needs in one D1 batch (one round trip, one consistent
 * snapshot): the identities of the identifiers, the profiles involved with their versions and
 * limited-type counts, and the suppressions.
 *
 * @example
 * const snapshot = await readGraph(env.DB, { identifiers, hintedProfiles: [], limitedTypes: ["user_id"], suppressionKeys });
 * snapshot.owners.get("identity:user_id:u1") // "prof_01J…"
 */
export async function readGraph(
	db: D1Database,
	query: GraphQuery,
): Promise<GraphSnapshot> {
	const keys = JSON.stringify(query.identifiers.map((i) => [i.type, i.value]));
	const [identities, profiles, suppressions] = await db.batch<
		Record<string, unknown>
	>([
		db.prepare(SELECT_IDENTITIES).bind(keys),
		db
			.prepare(SELECT_PROFILES)
			.bind(
				JSON.stringify(query.hintedProfiles),
				keys,
				JSON.stringify(query.limitedTypes),
			),
		db.prepare(SELECT_SUPPRESSIONS).bind(JSON.stringify(query.suppressionKeys)),
	]);

	const rows = new Map<
		string,
		{
			createdAt: string;
			version: number;
			mergedInto: string | null;
			counts: LimitCounts;
		}
	>();
	for (const row of profiles?.results ?? []) {
		rows.set(String(row.id), {
			createdAt: String(row.created_at),
			version: Number(row.version),
			mergedInto: row.merged_into === null ? null : String(row.merged_into),
			counts: parseCounts(row.counts),
		});
	}
	const live = (id: string): string | null => {
		const row = rows.get(id);
		if (!row) return null;
		if (row.mergedInto === null) return id;
		const survivor = rows.get(row.mergedInto);
		return survivor && survivor.mergedInto === null ? row.mergedInto : null;
	};

	const snapshot: GraphSnapshot = {
		owners: new Map(),
		profiles: new Map(),
		forward: new Map(),
		suppressions: new Map(),
	};
	for (const [id, row] of rows)
		if (row.mergedInto === null)
			snapshot.profiles.set(id, {
				id,
				createdAt: row.createdAt,
				version: row.version,
				counts: row.counts,
			});
	for (const row of identities?.results ?? []) {
		const owner = live(String(row.profile_id));
		if (owner)
			snapshot.owners.set(
				identityKey({ type: String(row.type), value: String(row.value) }),
				owner,
			);
	}
	for (const id of query.hintedProfiles) snapshot.forward.set(id, live(id));
	for (const row of suppressions?.results ?? [])
		snapshot.suppressions.set(String(row.key_hash), String(row.deleted_at));
	return snapshot;
}

function parseCounts(raw: unknown): LimitCounts {
	if (typeof raw !== "string") return {};
	const parsed = JSON.parse(raw) as Record<string, unknown>;
	const counts: LimitCounts = {};
	for (const [type, n] of Object.entries(parsed)) counts[type] = Number(n);
	return counts;
}
