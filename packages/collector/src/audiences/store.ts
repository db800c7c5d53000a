import type { ProfileState, TraitCell } from "./state";

/*
 * The SQL of the audience tables (migrations/0012_audiences.sql), all of it. Writes take one
 * JSON parameter per statement (json_each), so a batch's writes cost the same statements
 * whatever its size.
 */

/** A stored profile state and the version it was read at. */
export interface StoredState {
	profileId: string;
	version: number;
	state: ProfileState;
}

/** What one read gives the stage: everything its batch's profiles need, in one round trip. */
export interface StateRead {
	/** Each profile id asked for → the live profile (itself, or what absorbed it). */
	live: Map<string, string>;
	states: Map<string, StoredState>;
	/** Live profile → the states of profiles merged into it, not yet combined. */
	absorbed: Map<string, StoredState[]>;
	/** Live profile → its identify traits that conditions read, as identity stored them. */
	traits: Map<string, Record<string, TraitCell>>;
	/** Live profile → group id → the group traits conditions read. */
	groups: Map<string, Record<string, Record<string, TraitCell>>>;
}

const ASKED = "asked(id) AS (SELECT value FROM json_each(?1))";
const LIVE = `live(id) AS (SELECT DISTINCT coalesce(p.merged_into, a.id) FROM asked AS a LEFT JOIN profiles AS p ON p.id = a.id)`;

/**
 * Reads the audience state of profiles (following merges), the states merged into them, and
 * the trait keys conditions read, in one D1 batch.
 *
 * @example
 * const read = await readStates(env.DB, ["prof_1"], ["plan"], []);
 */
export async function readStates(
	db: D1Database,
	profileIds: readonly string[],
	traitKeys: readonly string[],
	groupKeys: readonly string[],
): Promise<StateRead> {
	const ids = JSON.stringify(profileIds);
	const statements = [
		db
			.prepare(
				`WITH ${ASKED} SELECT a.id AS asked, coalesce(p.merged_into, a.id) AS live FROM asked AS a LEFT JOIN profiles AS p ON p.id = a.id`,
			)
			.bind(ids),
		db
			.prepare(
				`WITH ${ASKED}, ${LIVE}
SELECT s.profile_id, s.version, s.state, coalesce(p.merged_into, s.profile_id) AS live
FROM audience_profiles AS s LEFT JOIN profiles AS p ON p.id = s.profile_id
WHERE s.profile_id IN (SELECT id FROM live) OR p.merged_into IN (SELECT id FROM live)`,
			)
			.bind(ids),
	];
	if (traitKeys.length > 0)
		statements.push(
			db
				.prepare(
					`WITH ${ASKED}, ${LIVE}
SELECT profile_id, key, value, updated_at, trust_rank FROM profile_traits
WHERE profile_id IN (SELECT id FROM live) AND key IN (SELECT value FROM json_each(?2))`,
				)
				.bind(ids, JSON.stringify(traitKeys)),
		);
	if (groupKeys.length > 0)
		statements.push(
			db
				.prepare(
					`WITH ${ASKED}, ${LIVE}
SELECT g.profile_id, t.group_id, t.key, t.value, t.updated_at, t.trust_rank
FROM profile_groups AS g JOIN group_traits AS t ON t.group_id = g.group_id
WHERE g.profile_id IN (SELECT id FROM live) AND t.key IN (SELECT value FROM json_each(?2))`,
				)
				.bind(ids, JSON.stringify(groupKeys)),
		);
	const results = await db.batch<Record<string, unknown>>(statements);
	const rows = (i: number) => results[i]?.results ?? [];
	const read: StateRead = {
		live: new Map(rows(0).map((r) => [String(r.asked), String(r.live)])),
		states: new Map(),
		absorbed: new Map(),
		traits: new Map(),
		groups: new Map(),
	};
	for (const r of rows(1)) {
		const stored: StoredState = {
			profileId: String(r.profile_id),
			version: Number(r.version),
			state: JSON.parse(String(r.state)) as ProfileState,
		};
		const live = String(r.live);
		if (live === stored.profileId) read.states.set(live, stored);
		else read.absorbed.set(live, [...(read.absorbed.get(live) ?? []), stored]);
	}
	const cell = (r: Record<string, unknown>): TraitCell => [
		JSON.parse(String(r.value)),
		String(r.updated_at),
		Number(r.trust_rank),
	];
	let next = 2;
	if (traitKeys.length > 0)
		for (const r of rows(next++)) {
			const id = String(r.profile_id);
			const cells = read.traits.get(id) ?? {};
			cells[String(r.key)] = cell(r);
			read.traits.set(id, cells);
		}
	if (groupKeys.length > 0)
		for (const r of rows(next++)) {
			const id = String(r.profile_id);
			const groups = read.groups.get(id) ?? {};
			const cells = groups[String(r.group_id)] ?? {};
			cells[String(r.key)] = cell(r);
			groups[String(r.group_id)] = cells;
			read.groups.set(id, groups);
		}
	return read;
}

/**
 * The profiles whose answer may have changed with time alone (`next_check_at` passed), oldest
 * first, with their states.
 *
 * @example
 * await dueStates(env.DB, new Date(), 200)
 */
export async function dueStates(
	db: D1Database,
	now: Date,
	limit: number,
): Promise<StoredState[]> {
	return liveStates(
		db,
		"s.next_check_at IS NOT NULL AND s.next_check_at <= ?1 ORDER BY s.next_check_at LIMIT ?2",
		now.toISOString(),
		limit,
	);
}

/**
 * A page of live profiles' states by profile id after `after` (a backfill evaluating every
 * profile).
 *
 * @example
 * await statesAfter(env.DB, "", 250) // [{ profileId: "prof_0…", version: 3, state }, …]
 */
export async function statesAfter(
	db: D1Database,
	after: string,
	limit: number,
): Promise<StoredState[]> {
	return liveStates(
		db,
		"s.profile_id > ?1 ORDER BY s.profile_id LIMIT ?2",
		after,
		limit,
	);
}

/**
 * The states of live profiles that match `where` (a condition on `s`, with its order and
 * limit). A state merged into another profile waits for the survivor's next read to combine it.
 */
async function liveStates(
	db: D1Database,
	where: string,
	...params: (string | number)[]
): Promise<StoredState[]> {
	const { results } = await db
		.prepare(
			`SELECT s.profile_id, s.version, s.state FROM audience_profiles AS s
JOIN profiles AS p ON p.id = s.profile_id AND p.merged_into IS NULL
WHERE ${where}`,
		)
		.bind(...params)
		.all<{ profile_id: string; version: number; state: string }>();
	return results.map((r) => ({
		profileId: r.profile_id,
		version: r.version,
		state: JSON.parse(r.state) as ProfileState,
	}));
}

/** An entry or exit to record. */
export interface TransitionRow {
	audienceKey: string;
	profileId: string;
	kind: "entered" | "exited";
	at: string;
	messageId: string;
}

/** One guarded write of states, memberships and transitions. */
export interface StateWrite {
	/** Every state read (or known absent: version 0) that the write relies on. */
	guard: [profileId: string, version: number][];
	states: {
		profileId: string;
		version: number;
		state: ProfileState;
		nextCheckAt: string | null;
	}[];
	/** States combined into a survivor: deleted, with their memberships. */
	dropped: string[];
	/** Memberships a survivor took over from profiles merged into it (no entry of its own). */
	carried: { audienceKey: string; profileId: string; enteredAt: string }[];
	transitions: TransitionRow[];
}

/**
 * The statements of one guarded write: they must run as one D1 batch (one transaction), which
 * fails with `audience_state_unchanged` when another writer changed a state since it was read.
 *
 * @example
 * await env.DB.batch(writeStatements(env.DB, write, new Date()));
 */
export function writeStatements(
	db: D1Database,
	write: StateWrite,
	now: Date,
): D1PreparedStatement[] {
	const at = now.toISOString();
	const statements = [
		db
			.prepare(
				`INSERT INTO audience_guard (ok) SELECT NOT EXISTS (
  SELECT 1 FROM json_each(?1) AS j LEFT JOIN audience_profiles AS s ON s.profile_id = j.value ->> 0
  WHERE coalesce(s.version, 0) <> j.value ->> 1)`,
			)
			.bind(JSON.stringify(write.guard)),
		db
			.prepare(
				`INSERT INTO audience_profiles (profile_id, version, state, next_check_at, updated_at)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2 FROM json_each(?1) WHERE true
ON CONFLICT (profile_id) DO UPDATE SET version = excluded.version, state = excluded.state,
  next_check_at = excluded.next_check_at, updated_at = excluded.updated_at`,
			)
			.bind(
				JSON.stringify(
					write.states.map((s) => [
						s.profileId,
						s.version,
						JSON.stringify(s.state),
						s.nextCheckAt,
					]),
				),
				at,
			),
	];
	if (write.dropped.length > 0) {
		const dropped = JSON.stringify(write.dropped);
		statements.push(
			db
				.prepare(
					"DELETE FROM audience_profiles WHERE profile_id IN (SELECT value FROM json_each(?1))",
				)
				.bind(dropped),
			db
				.prepare(
					"DELETE FROM audience_members WHERE profile_id IN (SELECT value FROM json_each(?1))",
				)
				.bind(dropped),
		);
	}
	if (write.carried.length > 0)
		statements.push(
			db
				.prepare(
					`INSERT INTO audience_members (audience_key, profile_id, entered_at)
SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
				)
				.bind(
					JSON.stringify(
						write.carried.map((c) => [c.audienceKey, c.profileId, c.enteredAt]),
					),
				),
		);
	if (write.transitions.length > 0) {
		const rows = JSON.stringify(
			write.transitions.map((t) => [
				t.audienceKey,
				t.profileId,
				t.kind,
				t.at,
				t.messageId,
			]),
		);
		statements.push(
			db
				.prepare(
					`INSERT INTO audience_transitions (audience_key, profile_id, kind, at, message_id)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1) WHERE true
ON CONFLICT (message_id) DO NOTHING`,
				)
				.bind(rows),
			// A profile's last transition per audience decides its membership.
			db
				.prepare(
					`INSERT INTO audience_members (audience_key, profile_id, entered_at)
SELECT value ->> 0, value ->> 1, value ->> 3 FROM json_each(?1) WHERE value ->> 2 = 'entered'
ON CONFLICT DO UPDATE SET entered_at = excluded.entered_at`,
				)
				.bind(rows),
			db
				.prepare(
					`DELETE FROM audience_members WHERE (audience_key, profile_id) IN
  (SELECT value ->> 0, value ->> 1 FROM json_each(?1) WHERE value ->> 2 = 'exited')`,
				)
				.bind(rows),
		);
	}
	statements.push(db.prepare("DELETE FROM audience_guard"));
	return statements;
}

/**
 * Whether a failed write lost a race with another writer (plan again from a fresh read).
 *
 * @example
 * isStateConflict(new Error("D1_ERROR: CHECK constraint failed: audience_state_unchanged")) // true
 */
export function isStateConflict(error: unknown): boolean {
	const message = error instanceof Error ? error.message : String(error);
	return /CHECK constraint failed: audience_state_unchanged/.test(message);
}

/**
 * Deletes transitions older than `before` (the admin API counts the last 24 hours).
 *
 * @example
 * await pruneTransitions(env.DB, new Date(Date.now() - 2 * 86_400_000))
 */
export async function pruneTransitions(
	db: D1Database,
	before: Date,
): Promise<number> {
	const result = await db
		.prepare("DELETE FROM audience_transitions WHERE at < ?1")
		.bind(before.toISOString())
		.run();
	return result.meta.changes;
}

/** One audience's figures for the admin API. */
export interface AudienceCounts {
	size: number;
	entered: number;
	exited: number;
}

/**
 * Each audience's size, and its entries and exits since `since`, in one D1 batch.
 *
 * @example
 * await audienceCounts(env.DB, ["high_value"], new Date(Date.now() - 86_400_000))
 */
export async function audienceCounts(
	db: D1Database,
	keys: readonly string[],
	since: Date,
): Promise<Map<string, AudienceCounts>> {
	const json = JSON.stringify(keys);
	const [sizes, moves] = await db.batch<Record<string, unknown>>([
		db
			.prepare(
				`SELECT audience_key, COUNT(*) AS n FROM audience_members
WHERE audience_key IN (SELECT value FROM json_each(?1)) GROUP BY 1`,
			)
			.bind(json),
		db
			.prepare(
				`SELECT audience_key, kind, COUNT(*) AS n FROM audience_transitions
WHERE audience_key IN (SELECT value FROM json_each(?1)) AND at >= ?2 GROUP BY 1, 2`,
			)
			.bind(json, since.toISOString()),
	]);
	const counts = new Map<string, AudienceCounts>(
		keys.map((k) => [k, { size: 0, entered: 0, exited: 0 }]),
	);
	for (const r of sizes?.results ?? []) {
		const c = counts.get(String(r.audience_key));
		if (c) c.size = Number(r.n);
	}
	for (const r of moves?.results ?? []) {
		const c = counts.get(String(r.audience_key));
		if (c) c[r.kind === "entered" ? "entered" : "exited"] = Number(r.n);
	}
	return counts;
}

/**
 * One page of an audience's members, by profile id after `after`.
 *
 * @example
 * await audienceMembers(env.DB, "high_value", "", 100) // [{ profileId, enteredAt }, …]
 */
export async function audienceMembers(
	db: D1Database,
	key: string,
	after: string,
	limit: number,
): Promise<{ profileId: string; enteredAt: string }[]> {
	const { results } = await db
		.prepare(
			`SELECT profile_id, entered_at FROM audience_members
WHERE audience_key = ?1 AND profile_id > ?2 ORDER BY profile_id LIMIT ?3`,
		)
		.bind(key, after, limit)
		.all<{ profile_id: string; entered_at: string }>();
	return results.map((r) => ({
		profileId: r.profile_id,
		enteredAt: r.entered_at,
	}));
}

/**
 * A profile's stored state (following a merge to the survivor), the states of profiles merged
 * into it that no batch has combined yet, and its memberships.
 *
 * @example
 * await profileAudienceRows(env.DB, "prof_1")
 */
export async function profileAudienceRows(
	db: D1Database,
	profileId: string,
): Promise<{
	state: ProfileState | undefined;
	absorbed: ProfileState[];
	members: { audienceKey: string; enteredAt: string }[];
}> {
	const live =
		"(SELECT coalesce((SELECT merged_into FROM profiles WHERE id = ?1), ?1))";
	const [states, members] = await db.batch<Record<string, unknown>>([
		db
			.prepare(
				`SELECT s.profile_id = ${live} AS own, s.state FROM audience_profiles AS s
WHERE s.profile_id = ${live} OR s.profile_id IN (SELECT id FROM profiles WHERE merged_into = ${live})`,
			)
			.bind(profileId),
		db
			.prepare(
				`SELECT audience_key, entered_at FROM audience_members WHERE profile_id = ${live} ORDER BY audience_key`,
			)
			.bind(profileId),
	]);
	const rows = (states?.results ?? []).map((r) => ({
		own: Number(r.own) === 1,
		state: JSON.parse(String(r.state)) as ProfileState,
	}));
	return {
		state: rows.find((r) => r.own)?.state,
		absorbed: rows.filter((r) => !r.own).map((r) => r.state),
		members: (members?.results ?? []).map((r) => ({
			audienceKey: String(r.audience_key),
			enteredAt: String(r.entered_at),
		})),
	};
}
