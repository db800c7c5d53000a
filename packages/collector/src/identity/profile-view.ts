import { latestPartitions } from "../archive/archive-index";
import { mayHoldAny, PROFILES_METADATA } from "../archive/profile-filter";
import { readRecords } from "../records/records";
import type { Identifier } from "./identifiers";

/** A profile as the admin API shows it: the single customer view. */
export interface ProfileView {
	id: string;
	createdAt: string;
	updatedAt: string;
	traits: Record<string, unknown>;
	computedTraits: {
		firstSeen: string | null;
		lastSeen: string | null;
		eventCounts: Record<string, number>;
	};
	identities: (Identifier & { createdAt: string })[];
	groups: {
		groupId: string;
		traits: Record<string, unknown>;
		firstSeen: string;
		lastSeen: string;
	}[];
	/** Profiles absorbed into this one (directly or through profiles it absorbed). */
	merges: {
		survivorId: string;
		absorbedId: string;
		sourceId: string;
		messageId: string;
		mergedAt: string;
	}[];
	/** Merges refused because of a limit (two user_ids…), involving this profile; the latest 50. */
	refusedMerges: {
		sourceId: string;
		messageId: string;
		profileId: string;
		refusedProfileId: string;
		identifierType: string;
		reason: string;
		createdAt: string;
	}[];
	/**
	 * Its latest events (at most 50, newest first), from the events of record it was last
	 * indexed in (the RECORDS objects of its last few batches): recent activity, not a history —
	 * `npm run events -- query` answers that.
	 */
	events: {
		sourceId: string;
		messageId: string;
		type: string;
		timestamp: string;
		receivedAt: string;
		payload: unknown;
	}[];
}

/** How the profile is named: by any id it ever had, or by an identifier it holds. */
export type ProfileRef = { id: string } | { identifier: Identifier };

const LIMIT = 50;

/**
 * Reads a profile in one D1 batch, then its latest events from the events-of-record objects
 * that hold them (without `records`, none). An id that was merged away answers with the
 * survivor; an identifier answers with the profile holding it. Undefined when there is no such
 * profile.
 *
 * @example
 * await loadProfile(env.DB, { id: "prof_01J…" }, env.RECORDS)
 * await loadProfile(env.DB, { identifier: { type: "email", value: "ann@example.com" } })
 */
export async function loadProfile(
	db: D1Database,
	ref: ProfileRef,
	records?: R2Bucket,
): Promise<ProfileView | undefined> {
	const [canonical, params] =
		"id" in ref
			? [
					"SELECT coalesce(merged_into, id) AS id FROM profiles WHERE id = ?1",
					[ref.id],
				]
			: [
					"SELECT profile_id AS id FROM identities WHERE type = ?1 AND value = ?2",
					[ref.identifier.type, ref.identifier.value],
				];
	const scope = `WITH canon AS (${canonical}),
members AS (SELECT id FROM canon UNION SELECT p.id FROM profiles AS p JOIN canon ON p.merged_into = canon.id)`;
	const one = "(SELECT id FROM canon)";
	const statements = [
		`SELECT p.* FROM profiles AS p JOIN canon ON p.id = canon.id`,
		`SELECT type, value, created_at FROM identities WHERE profile_id = ${one} ORDER BY type, value`,
		`SELECT key, value FROM profile_traits WHERE profile_id = ${one} ORDER BY key`,
		`SELECT type, count FROM profile_event_counts WHERE profile_id = ${one} ORDER BY type`,
		`SELECT g.group_id, g.first_seen, g.last_seen,
		   (SELECT json_group_object(t.key, json(t.value)) FROM group_traits AS t WHERE t.group_id = g.group_id) AS traits
		 FROM profile_groups AS g WHERE g.profile_id = ${one} ORDER BY g.group_id`,
		`SELECT * FROM profile_merges WHERE survivor_id IN (SELECT id FROM members) ORDER BY merged_at, id`,
		`SELECT * FROM identity_refusals
		 WHERE profile_id IN (SELECT id FROM members) OR refused_profile_id IN (SELECT id FROM members)
		 ORDER BY created_at DESC, id DESC LIMIT ${LIMIT}`,
		"SELECT id FROM members",
	].map((sql) => db.prepare(`${scope} ${sql}`).bind(...params));
	const results = await db.batch<Record<string, unknown>>(statements);
	const rows = (i: number) => results[i]?.results ?? [];
	const profile = rows(0)[0];
	if (!profile) return undefined;
	const text = (v: unknown) => String(v);
	return {
		id: text(profile.id),
		createdAt: text(profile.created_at),
		updatedAt: text(profile.updated_at),
		traits: Object.fromEntries(
			rows(2).map((r) => [text(r.key), JSON.parse(text(r.value))]),
		),
		computedTraits: {
			firstSeen: (profile.first_seen as string | null) ?? null,
			lastSeen: (profile.last_seen as string | null) ?? null,
			eventCounts: Object.fromEntries(
				rows(3).map((r) => [text(r.type), Number(r.count)]),
			),
		},
		identities: rows(1).map((r) => ({
			type: text(r.type),
			value: text(r.value),
			createdAt: text(r.created_at),
		})),
		groups: rows(4).map((r) => ({
			groupId: text(r.group_id),
			traits: r.traits ? JSON.parse(text(r.traits)) : {},
			firstSeen: text(r.first_seen),
			lastSeen: text(r.last_seen),
		})),
		merges: rows(5).map((r) => ({
			survivorId: text(r.survivor_id),
			absorbedId: text(r.absorbed_id),
			sourceId: text(r.source_id),
			messageId: text(r.message_id),
			mergedAt: text(r.merged_at),
		})),
		refusedMerges: rows(6).map((r) => ({
			sourceId: text(r.source_id),
			messageId: text(r.message_id),
			profileId: text(r.profile_id),
			refusedProfileId: text(r.refused_profile_id),
			identifierType: text(r.identifier_type),
			reason: text(r.reason),
			createdAt: text(r.created_at),
		})),
		events: records
			? await latestEvents(
					db,
					records,
					rows(7).map((r) => text(r.id)),
				)
			: [],
	};
}

/** Objects read for the latest events: the profile's last few batches. */
const OBJECTS = 8;
/** Partitions (hours) looked in for them: the latest the person was indexed in. */
const PARTITIONS = 2;

async function latestEvents(
	db: D1Database,
	records: R2Bucket,
	members: readonly string[],
): Promise<ProfileView["events"]> {
	const mine = new Set(members);
	const partitions = await latestPartitions(db, "RECORDS", members, PARTITIONS);
	// The partitions' objects whose profile filter may hold the person, newest first.
	const candidates: { key: string; uploaded: number }[] = [];
	for (const prefix of partitions) {
		let cursor: string | undefined;
		do {
			const page = await records.list({
				prefix,
				delimiter: "/",
				cursor,
				include: ["customMetadata"],
			});
			for (const o of page.objects)
				if (mayHoldAny(o.customMetadata?.[PROFILES_METADATA], mine))
					candidates.push({ key: o.key, uploaded: o.uploaded.getTime() });
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor);
	}
	const keys = candidates
		.sort((a, b) => b.uploaded - a.uploaded)
		.slice(0, OBJECTS)
		.map((c) => c.key);
	const objects = await Promise.all(keys.map((key) => records.get(key)));
	const events = (
		await Promise.all(
			objects.map(async (o) => (o ? readRecords(await o.arrayBuffer()) : [])),
		)
	)
		.flat()
		.filter((e) => mine.has(String(e.event.context.profileId)));
	return events
		.sort((a, b) =>
			a.event.timestamp === b.event.timestamp
				? a.event.messageId < b.event.messageId
					? 1
					: -1
				: Date.parse(b.event.timestamp) - Date.parse(a.event.timestamp),
		)
		.slice(0, LIMIT)
		.map(({ sourceId, event }) => ({
			sourceId,
			messageId: event.messageId,
			type: event.type,
			timestamp: event.timestamp,
			receivedAt: event.receivedAt,
			payload: event,
		}));
}
