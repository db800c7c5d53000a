import { queueRewritesStatements } from "../archive/archive-index";
import { profileDeliveriesStatements } from "../db/deliveries";
import { purgeParkedStatement } from "../db/parked";
import type { IdentityCache } from "./cache";
import { isConflict } from "./conflict";
import {
	insertDeletionStatement,
	type Removed,
	recordRemoved,
} from "./deletion-record";
import { markErasedStatement } from "./erased";
import { type Identifier, identityKey } from "./identifiers";
import { ANONYMOUS_ID, USER_ID } from "./settings";
import { suppressionKey } from "./suppression";

/** What a deletion removed. */
export interface Deletion {
	/** The deletion record (profile_deletions.id): `GET /v1/profiles/deletions/:id` follows it. */
	deletionId: number;
	/** The deleted profile (the survivor, when the id asked for had been merged). */
	profileId: string;
	/** Profiles it had absorbed, deleted with it. */
	mergedProfileIds: string[];
	/** Its identifiers: suppressed from now on, and handed to destinations in profile_deletions. */
	identities: Identifier[];
	/** Events the person had on record (their event counters): the R2 rewrite removes them. */
	events: number;
	/** What the transaction removed, per store. */
	removed: Removed;
}

const READ = [
	"SELECT id, version FROM profiles WHERE id = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1) AND merged_into IS NULL",
	"SELECT type, value FROM identities WHERE profile_id = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1) ORDER BY type, value",
	"SELECT id FROM profiles WHERE merged_into = (SELECT coalesce(merged_into, id) FROM profiles WHERE id = ?1)",
	// Rows not yet moved to R2 by `npm run events -- migrate` (the table is dropped after it).
	"SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events_legacy' AND ?1 IS NOT NULL",
];

/* ?1: JSON array of every profile id of the person (survivor and absorbed). */
const MEMBERS = "(SELECT value FROM json_each(?1))";
const DELETE = {
	identities: `DELETE FROM identities WHERE profile_id IN ${MEMBERS}`,
	traits: `DELETE FROM profile_traits WHERE profile_id IN ${MEMBERS}`,
	counts: `DELETE FROM profile_event_counts WHERE profile_id IN ${MEMBERS}`,
	groups: `DELETE FROM profile_groups WHERE profile_id IN ${MEMBERS}`,
	merges: `DELETE FROM profile_merges WHERE survivor_id IN ${MEMBERS} OR absorbed_id IN ${MEMBERS}`,
	refusals: `DELETE FROM identity_refusals WHERE profile_id IN ${MEMBERS} OR refused_profile_id IN ${MEMBERS}`,
	profiles: `DELETE FROM profiles WHERE id IN ${MEMBERS}`,
	// Computed traits and audiences (audiences/): their state, memberships and transitions.
	audienceStates: `DELETE FROM audience_profiles WHERE profile_id IN ${MEMBERS}`,
	audienceMembers: `DELETE FROM audience_members WHERE profile_id IN ${MEMBERS}`,
	audienceTransitions: `DELETE FROM audience_transitions WHERE profile_id IN ${MEMBERS}`,
};

/** Races lost in a row (a consumer changed the profile meanwhile) before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Right to erasure, the part that happens at once: in one guarded D1 batch (a transaction) it
 * deletes a profile (following a merged id to its survivor), the profiles it absorbed, their
 * identities, traits, counts, group memberships, merge history (and any rows of theirs not yet
 * migrated out of `events_legacy`); cancels and deletes the person's deliveries (their failure
 * rows, and their events in the bodies of batches in flight — a DELIVERIES message still
 * carrying their events finds the profile in erased_profiles and drops them);
 * purges their parked rows; moves the R2 objects indexed for them — events of record and `r2`
 * archives — to the rewrite queue;
 * suppresses their identifiers (as hashes: events carrying them are dropped for the source's
 * `suppressionDays`); marks the profile ids erased; and records the deletion in
 * profile_deletions for forwarding. What takes longer — forwarding, the R2 rewrites, hashing
 * the record — is finished by the crons (delivery/deletions.ts, finish-erasures.ts).
 * If a consumer changes the profile meanwhile, the guard fails and it is read and deleted again.
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
	const [profile, identityRows, memberRows, legacy] = await db.batch<
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
	const person = [profileId, ...mergedProfileIds];
	const members = JSON.stringify(person);
	const keys = await Promise.all(identities.map(suppressionKey));
	const at = now.toISOString();
	const userIds = valuesOf(identities, USER_ID);
	const anonymousIds = valuesOf(identities, ANONYMOUS_ID);
	// The log keys an event by its resolved profile id, or by the userId/anonymousId of an
	// event that had none.
	const [cancelled, deliveries, bodies] = profileDeliveriesStatements(db, [
		...person,
		...userIds,
		...anonymousIds,
	]);
	const [objects, archive, unindex] = queueRewritesStatements(db, person, now);
	const steps: [string, D1PreparedStatement][] = [
		[
			"guard",
			db
				.prepare(
					`INSERT INTO resolution_guard (ok)
				 SELECT COUNT(*) = 1 FROM profiles WHERE id = ?1 AND version = ?2 AND merged_into IS NULL`,
				)
				.bind(profileId, Number(row.version)),
		],
		[
			"suppress",
			db
				.prepare(
					`INSERT INTO identity_suppressions (key_hash, deleted_at)
				 SELECT value, ?2 FROM json_each(?1) WHERE true
				 ON CONFLICT (key_hash) DO UPDATE SET deleted_at = excluded.deleted_at`,
				)
				.bind(JSON.stringify(keys), at),
		],
		["record", insertDeletionStatement(db, profileId, identities, now)],
		["erased", markErasedStatement(db, person, profileId, now)],
		["objects", objects],
		["archive", archive],
		["unindex", unindex],
		["cancelled", cancelled],
		["deliveries", deliveries],
		["bodies", bodies],
		[
			"parked",
			purgeParkedStatement(db, { profileIds: person, userIds, anonymousIds }),
		],
		[
			"events",
			db
				.prepare(
					`SELECT coalesce(SUM(count), 0) AS n FROM profile_event_counts WHERE profile_id IN ${MEMBERS}`,
				)
				.bind(members),
		],
		...Object.entries(DELETE).map(
			([name, sql]) =>
				[name, db.prepare(sql).bind(members)] as [string, D1PreparedStatement],
		),
		...(Number(legacy?.results[0]?.n ?? 0) > 0
			? [
					[
						"legacy",
						db
							.prepare(
								`DELETE FROM events_legacy WHERE profile_id IN ${MEMBERS}`,
							)
							.bind(members),
					] as [string, D1PreparedStatement],
				]
			: []),
		["unguard", db.prepare("DELETE FROM resolution_guard")],
	];
	const results = await db.batch<Record<string, unknown>>(
		steps.map(([, statement]) => statement),
	);
	const result = new Map(steps.map(([name], i) => [name, results[i]]));
	const changes = (name: string) => result.get(name)?.meta.changes ?? 0;
	const deletionId = Number(result.get("record")?.meta.last_row_id);
	const removed: Removed = {
		profiles: changes("profiles"),
		identities: changes("identities"),
		traits: changes("traits"),
		events: Number(result.get("events")?.results[0]?.n ?? 0),
		// Failure rows deleted, and events taken out of batches in flight.
		deliveries:
			changes("deliveries") +
			Number(result.get("cancelled")?.results[0]?.n ?? 0),
		cancelledDeliveries: Number(result.get("cancelled")?.results[0]?.n ?? 0),
		parked: changes("parked"),
		archiveObjects: Number(result.get("objects")?.results[0]?.n ?? 0),
	};
	await cache.forget(identities.map(identityKey), person, { kv: true });
	try {
		await recordRemoved(db, deletionId, removed);
	} catch (error) {
		// The erasure is committed; only the figures its status reports are missing.
		console.error(
			JSON.stringify({
				msg: "deletion figures not recorded",
				deletionId,
				error: String(error),
			}),
		);
	}
	return {
		deletionId,
		profileId,
		mergedProfileIds,
		identities,
		events: removed.events,
		removed,
	};
}

function valuesOf(identities: readonly Identifier[], type: string): string[] {
	return identities.filter((i) => i.type === type).map((i) => i.value);
}
