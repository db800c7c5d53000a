import type { Identifier } from "./identifiers";
import { suppressionKey } from "./suppression";

/*
 * The deletion record (`profile_deletions`, migrations 0002 and 0007) from the moment a deletion
 * commits until it is finished. Forwarding to the destinations (delivery/deletions.ts) reads the
 * clear identifiers; once no forwarding can need them again, they are replaced by hashes.
 */

/** What a deletion's transaction removed, per store (the counts of its statements). */
export interface Removed {
	profiles: number;
	identities: number;
	traits: number;
	events: number;
	deliveries: number;
	/** Deliveries that were pending or retrying: cancelled before being sent. */
	cancelledDeliveries: number;
	parked: number;
	/** Hour partitions (R2 folders) holding the person's events, left for the archive rewrite. */
	archiveObjects: number;
}

/** An identifier once the record no longer keeps it: the same hash as its suppression. */
export interface HashedIdentifier {
	type: string;
	hash: string;
}

/** A profile_deletions row. */
export interface DeletionRow {
	id: number;
	profile_id: string;
	identities: string;
	requested_at: string;
	removed: string | null;
	forwarding_started_at: string | null;
	forwarding: string | null;
	identities_hashed_at: string | null;
	completed_at: string | null;
}

/**
 * The statement that records a deletion, for the deletion's D1 batch (its `meta.last_row_id` is
 * the deletion id).
 *
 * @example
 * await db.batch([..., insertDeletionStatement(db, "prof_1", identities, new Date())]);
 */
export function insertDeletionStatement(
	db: D1Database,
	profileId: string,
	identities: readonly Identifier[],
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			"INSERT INTO profile_deletions (profile_id, identities, requested_at) VALUES (?1, ?2, ?3)",
		)
		.bind(profileId, JSON.stringify(identities), now.toISOString());
}

/**
 * Writes what the deletion's transaction removed (kept for the status, after the rows are gone).
 *
 * @example
 * await recordRemoved(env.DB, 7, removed);
 */
export async function recordRemoved(
	db: D1Database,
	id: number,
	removed: Removed,
): Promise<void> {
	await db
		.prepare("UPDATE profile_deletions SET removed = ?2 WHERE id = ?1")
		.bind(id, JSON.stringify(removed))
		.run();
}

/**
 * The statement that reads one deletion record ({@link DeletionRow}), for a status batch.
 *
 * @example
 * const [record] = await db.batch([deletionStatement(db, 7)]);
 */
export function deletionStatement(
	db: D1Database,
	id: number,
): D1PreparedStatement {
	return db.prepare("SELECT * FROM profile_deletions WHERE id = ?1").bind(id);
}

/** This deletion's forwarding rows that are not in (or not in) some statuses. */
const forwardingRows = (statuses: string) =>
	`SELECT 1 FROM deletion_forwarding AS d
WHERE d.deletion_id = profile_deletions.id AND d.status NOT IN (${statuses})`;
const NOT_FINAL = forwardingRows("'delivered', 'failed', 'dead', 'dropped'");
/** Rows that may still be sent: in flight, or failed/dead and so open to replay. */
const MAY_SEND = forwardingRows("'delivered', 'dropped'");
const OUTCOMES = `(SELECT json_group_object(destination_id, status) FROM deletion_forwarding
  WHERE deletion_id = profile_deletions.id)`;

/** Records hashed per run; the rest wait for the next run. */
const HASH_PER_RUN = 200;

/**
 * Settles forwarding for deletions whose forwarding has started: when every destination's row
 * is final, keeps each one's outcome in the record (`forwarding`); when none may be sent again —
 * all delivered or dropped, or a failed/dead row gone with the log's retention, so no replay can
 * use them — replaces the identifiers with their hashes (the same SHA-256 as suppressions).
 * Returns how many records were hashed. A replay that makes a row pending between the read and
 * the write keeps the record in clear: the write checks again.
 *
 * @example
 * await hashForwardedDeletions(env.DB, new Date()) // 3
 */
export async function hashForwardedDeletions(
	db: D1Database,
	now: Date,
): Promise<number> {
	await db
		.prepare(
			`UPDATE profile_deletions SET forwarding = ${OUTCOMES}
WHERE completed_at IS NULL AND forwarding IS NULL AND forwarding_started_at IS NOT NULL
  AND NOT EXISTS (${NOT_FINAL})`,
		)
		.run();
	const { results } = await db
		.prepare(
			`SELECT id, identities FROM profile_deletions
WHERE completed_at IS NULL AND identities_hashed_at IS NULL AND forwarding IS NOT NULL
  AND NOT EXISTS (${MAY_SEND})
ORDER BY id LIMIT ?1`,
		)
		.bind(HASH_PER_RUN)
		.run<{ id: number; identities: string }>();
	if (results.length === 0) return 0;
	const update = db.prepare(
		`UPDATE profile_deletions SET identities = ?2, identities_hashed_at = ?3,
  forwarding = json_patch(forwarding, ${OUTCOMES})
WHERE id = ?1 AND identities_hashed_at IS NULL AND NOT EXISTS (${MAY_SEND})`,
	);
	const statements = await Promise.all(
		results.map(async (row) =>
			update.bind(
				row.id,
				JSON.stringify(await hashed(row.identities)),
				now.toISOString(),
			),
		),
	);
	const written = await db.batch(statements);
	return written.reduce((sum, r) => sum + r.meta.changes, 0);
}

async function hashed(identities: string): Promise<HashedIdentifier[]> {
	let parsed: unknown;
	try {
		parsed = JSON.parse(identities);
	} catch {
		// Unreadable: nothing in it can be hashed, and nothing of it is kept.
		return [];
	}
	if (!Array.isArray(parsed)) return [];
	return Promise.all(
		parsed
			.filter(
				(i): i is Identifier =>
					typeof i?.type === "string" && typeof i?.value === "string",
			)
			.map(async (i) => ({ type: i.type, hash: await suppressionKey(i) })),
	);
}

/**
 * Deletions that may be finished, oldest first: hashed, not yet marked finished, and with no
 * archive object left to rewrite (those wait for the rewrite, and would crowd out the rest).
 *
 * @example
 * await unfinishedDeletions(env.DB, 100) // [{ id: 7, profileId: "prof_1" }]
 */
export async function unfinishedDeletions(
	db: D1Database,
	limit: number,
): Promise<{ id: number; profileId: string }[]> {
	const { results } = await db
		.prepare(
			`SELECT id, profile_id FROM profile_deletions AS p
WHERE completed_at IS NULL AND identities_hashed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM erased_profiles AS e JOIN archive_partition_rewrites AS r ON r.profile_id = e.profile_id
                  WHERE e.erased_as = p.profile_id)
ORDER BY id LIMIT ?1`,
		)
		.bind(limit)
		.run<{ id: number; profile_id: string }>();
	return results.map((row) => ({ id: row.id, profileId: row.profile_id }));
}

/**
 * Marks deletions finished.
 *
 * @example
 * await markCompleted(env.DB, [7], new Date());
 */
export async function markCompleted(
	db: D1Database,
	ids: readonly number[],
	now: Date,
): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare(
			"UPDATE profile_deletions SET completed_at = ?1 WHERE completed_at IS NULL AND id IN (SELECT value FROM json_each(?2))",
		)
		.bind(now.toISOString(), JSON.stringify(ids))
		.run();
}

/**
 * The newest deletion whose forwarding to destinations has not started (0 when none): a
 * forwarding run handles those up to it, so one recorded meanwhile waits for the next run.
 *
 * @example
 * const upTo = await lastUnstartedDeletion(env.DB);
 */
export async function lastUnstartedDeletion(db: D1Database): Promise<number> {
	return (
		(await db
			.prepare(
				"SELECT max(id) AS id FROM profile_deletions WHERE forwarding_started_at IS NULL",
			)
			.first<number | null>("id")) ?? 0
	);
}

/**
 * Marks the deletions up to `upTo` as forwarded to every destination (their delivery-log rows
 * are written); returns how many were marked.
 *
 * @example
 * const started = await markForwardingStarted(env.DB, upTo, new Date());
 */
export async function markForwardingStarted(
	db: D1Database,
	upTo: number,
	now: Date,
): Promise<number> {
	const { meta } = await db
		.prepare(
			"UPDATE profile_deletions SET forwarding_started_at = ?1 WHERE forwarding_started_at IS NULL AND id <= ?2",
		)
		.bind(now.toISOString(), upTo)
		.run();
	return meta.changes;
}
