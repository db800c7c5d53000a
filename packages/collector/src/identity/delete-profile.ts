import type { IdentityCache } from "./cache";
import { isConflict } from "./conflict";
import { type Identifier, identityKey } from "./identifiers";
import { suppressionKey } from "./suppression";

/** What a deletion removed. */
export interface Deletion {
	/** The deleted profile (the survivor, when the id asked for had been merged). */
	profileId: string;
	/** Profiles it had absorbed, deleted with it. */
	mergedProfileIds: string[];
	/** Its identifiers: suppressed from now on, and handed to destinations in profile_deletions. */
	identities: Identifier[];
	/** Stored events deleted. */
	events: number;
}

const READ = [
	"SELECT id, version FROM profiles WHERE id = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1) AND merged_into IS NULL",
	"SELECT type, value FROM identities WHERE profile_id = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1) ORDER BY type, value",
	"SELECT id FROM profiles WHERE merged_into = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1)",
];

/* ?1: JSON array of every profile id of the person (survivor and absorbed). */
const MEMBERS = "(SELECT value FROM json_each(?1))";
const DELETE = [
	`DELETE FROM events WHERE profile_id IN ${MEMBERS}`,
	`DELETE FROM identities WHERE profile_id IN ${MEMBERS}`,
	`DELETE FROM profile_traits WHERE profile_id IN ${MEMBERS}`,
	`DELETE FROM profile_event_counts WHERE profile_id IN ${MEMBERS}`,
	`DELETE FROM profile_groups WHERE profile_id IN ${MEMBERS}`,
	`DELETE FROM profile_merges WHERE survivor_id IN ${MEMBERS} OR absorbed_id IN ${MEMBERS}`,
	`DELETE FROM identity_refusals WHERE profile_id IN ${MEMBERS} OR refused_profile_id IN ${MEMBERS}`,
	`DELETE FROM profiles WHERE id IN ${MEMBERS}`,
];

/** Races lost in a row (a consumer changed the profile meanwhile) before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Right to erasure: deletes a profile (following a merged id to its survivor), the profiles it
 * absorbed, its identities, traits, counts, group memberships, merge history and stored events,
 * in one D1 batch. In the same transaction it suppresses its identifiers (as hashes; events
 * carrying them are then dropped for the source's `suppressionDays`) and records the deletion
 * in profile_deletions for the destinations that support deletion. The batch is guarded like a
 * resolution: if a consumer changes the profile meanwhile, it is read and deleted again.
 * Undefined when there is no such profile.
 *
 * @example
 * const deleted = await deleteProfile(env.DB, cache, "prof_01J…", new Date());
 * deleted?.identities // [{ type: "anonymous_id", value: "…" }, { type: "user_id", value: "u1" }]
 */
export async function deleteProfile(
	db: D1Database,
	cache: IdentityCache,
	id: string,
	now: Date,
): Promise<Deletion | undefined> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await attemptDeletion(db, cache, id, now);
		} catch (error) {
			if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
		}
	}
}

async function attemptDeletion(
	db: D1Database,
	cache: IdentityCache,
	id: string,
	now: Date,
): Promise<Deletion | undefined> {
	const [profile, identityRows, memberRows] = await db.batch<
		Record<string, unknown>
	>(READ.map((sql) => db.prepare(sql).bind(id)));
	const row = profile?.results[0];
	if (!row) return undefined;
	const profileId = String(row.id);
	const identities = (identityRows?.results ?? []).map((r) => ({
		type: String(r.type),
		value: String(r.value),
	}));
	const mergedProfileIds = (memberRows?.results ?? []).map((r) => String(r.id));
	const members = JSON.stringify([profileId, ...mergedProfileIds]);
	const keys = await Promise.all(identities.map(suppressionKey));
	const at = now.toISOString();

	const results = await db.batch([
		db
			.prepare(
				`INSERT INTO resolution_guard (ok)
				 SELECT COUNT(*) = 1 FROM profiles WHERE id = ?1 AND version = ?2 AND merged_into IS NULL`,
			)
			.bind(profileId, Number(row.version)),
		db
			.prepare(
				`INSERT INTO identity_suppressions (key_hash, deleted_at)
				 SELECT value, ?2 FROM json_each(?1) WHERE true
				 ON CONFLICT (key_hash) DO UPDATE SET deleted_at = excluded.deleted_at`,
			)
			.bind(JSON.stringify(keys), at),
		db
			.prepare(
				"INSERT INTO profile_deletions (profile_id, identities, requested_at) VALUES (?1, ?2, ?3)",
			)
			.bind(profileId, JSON.stringify(identities), at),
		...DELETE.map((sql) => db.prepare(sql).bind(members)),
		db.prepare("DELETE FROM resolution_guard"),
	]);
	await cache.forget(
		identities.map(identityKey),
		[profileId, ...mergedProfileIds],
		{ kv: true },
	);
	return {
		profileId,
		mergedProfileIds,
		identities,
		events: results[3]?.meta.changes ?? 0,
	};
}
