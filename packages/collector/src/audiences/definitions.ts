import type { LoadedConfig } from "../config/schema";
import { insertBackfillStatement } from "../db/backfills";
import type { AudiencePlan } from "./plan";

/*
 * Which definitions the live path counts, and from when (migrations/0014, table
 * `audience_definitions`; every query on it is here). When the config brings a new or changed
 * aggregate or audience, the first reader registers it in one guarded D1 batch, with an
 * activation time and a backfill job of kind `audience` (audiences/backfill.ts):
 *
 * - an aggregate counts, live, only events received from its activation on; the backfill
 *   counts the stored events received before it, so no event counts twice and none is missed;
 * - an audience is held — not evaluated live — until the backfill has evaluated every profile,
 *   so a new definition causes no storm of entries (they are sent only with `sendOnBackfill`).
 *
 * The activation time is the registration plus CONFIG_CACHE_SECONDS: by then every isolate has
 * the new config, so no event received after it is processed without the new definition. The
 * definitions of the first registration a collector makes (those before this table existed)
 * were counted live from the start: they are registered as active since always, with no job.
 * Built-in computed traits (schema.ts) are never registered: they count every event.
 */

/** What the live path needs: its plan (held audiences left out) and the activation times. */
export interface LiveDefinitions {
	plan: AudiencePlan;
	/** Aggregate id → the first `receivedAt` (ms) the live path counts; absent: every event. */
	activeFrom: Map<string, number>;
	/** Audiences held for a backfill. */
	held: Set<string>;
}

/** What a backfill job of kind `audience` computes (its `detail`). */
export interface AudienceBackfillDetail {
	/** The aggregates it counts stored events into: id and definition hash. */
	aggregates: { id: string; hash: string }[];
	/** The audiences it evaluates (and releases) at the end. */
	audiences: string[];
	/** The activation time: it counts events received before it. */
	activeFrom: string;
	/** It starts reading once events received before the activation are surely stored. */
	notBefore: string;
}

/** How long after the activation the backfill waits for late events (queue retries) to be stored. */
export const SETTLE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

interface Row {
	kind: "aggregate" | "audience";
	id: string;
	hash: string;
	active_from: string;
	held: number;
}

const views = new WeakMap<LoadedConfig, Promise<LiveDefinitions>>();

/**
 * The live path's view of the config's definitions, once per loaded config (so a released
 * audience is seen within CONFIG_CACHE_SECONDS); registers new or changed definitions first.
 *
 * @example
 * const live = await liveDefinitions(env, config, plan, new Date());
 * applyEvent(state, applied, live.plan, nowMs, live.activeFrom);
 */
export function liveDefinitions(
	env: Pick<Env, "DB" | "CONFIG_CACHE_SECONDS" | "EVENT_RETENTION_DAYS">,
	config: LoadedConfig,
	plan: AudiencePlan,
	now: Date,
): Promise<LiveDefinitions> {
	let view = views.get(config);
	if (!view) {
		// Built-in traits alone have nothing to register and count every event: no read.
		view =
			plan.audiences.length === 0 && plan.tracked.every((t) => t.builtIn)
				? Promise.resolve({ plan, activeFrom: new Map(), held: new Set() })
				: load(env, config, plan, now);
		views.set(config, view);
		// A failed read is not kept: the next batch reads again.
		view.catch(() => views.delete(config));
	}
	return view;
}

async function load(
	env: Pick<Env, "DB" | "CONFIG_CACHE_SECONDS" | "EVENT_RETENTION_DAYS">,
	config: LoadedConfig,
	plan: AudiencePlan,
	now: Date,
): Promise<LiveDefinitions> {
	for (let attempt = 0; ; attempt++) {
		const rows = await readRows(env.DB);
		const changes = changed(plan, rows);
		if (changes.aggregates.length + changes.audiences.length === 0)
			return viewOf(plan, rows);
		try {
			await register(env, config, plan, rows.size === 0, changes, now);
		} catch (error) {
			// Another reader registered the same definitions first: read what it wrote.
			if (!isRegistrationConflict(error) || attempt >= 3) throw error;
		}
	}
}

async function readRows(db: D1Database): Promise<Map<string, Row>> {
	const { results } = await db
		.prepare(
			"SELECT kind, id, hash, active_from, held FROM audience_definitions",
		)
		.run<Row>();
	return new Map(results.map((r) => [`${r.kind}:${r.id}`, r]));
}

/**
 * The plan's aggregates and audiences whose row is missing or has another hash. A built-in
 * trait has no row: it has been counted since the collector first ran.
 */
function changed(plan: AudiencePlan, rows: Map<string, Row>) {
	const aggregates = plan.tracked.filter(
		(t) => !t.builtIn && rows.get(`aggregate:${t.id}`)?.hash !== t.hash,
	);
	const changedIds = new Set(aggregates.map((t) => t.id));
	const audiences = plan.audiences.filter(
		(a) =>
			rows.get(`audience:${a.key}`)?.hash !== a.hash ||
			a.uses.some((id) => changedIds.has(id)),
	);
	return { aggregates, audiences };
}

function viewOf(plan: AudiencePlan, rows: Map<string, Row>): LiveDefinitions {
	const activeFrom = new Map<string, number>();
	for (const t of plan.tracked) {
		const row = rows.get(`aggregate:${t.id}`);
		if (row?.active_from) activeFrom.set(t.id, Date.parse(row.active_from));
	}
	const held = new Set(
		plan.audiences
			.filter((a) => rows.get(`audience:${a.key}`)?.held === 1)
			.map((a) => a.key),
	);
	return {
		plan: {
			...plan,
			audiences: plan.audiences.filter((a) => !held.has(a.key)),
		},
		activeFrom,
		held,
	};
}

/**
 * Registers changed definitions in one D1 batch: a guard that fails when another reader
 * registered any of these hashes meanwhile, the backfill job, and the rows pointing at it.
 */
async function register(
	env: Pick<Env, "DB" | "CONFIG_CACHE_SECONDS" | "EVENT_RETENTION_DAYS">,
	config: LoadedConfig,
	plan: AudiencePlan,
	first: boolean,
	changes: ReturnType<typeof changed>,
	now: Date,
): Promise<void> {
	const db = env.DB;
	const rows = [
		...changes.aggregates.map((t) => ["aggregate", t.id, t.hash, 0] as const),
		...changes.audiences.map((a) => ["audience", a.key, a.hash, 1] as const),
	];
	const guard = db
		.prepare(
			`INSERT INTO audience_guard (ok) SELECT NOT EXISTS (SELECT 1 FROM json_each(?1) AS j
  JOIN audience_definitions AS d ON d.kind = j.value ->> 0 AND d.id = j.value ->> 1 AND d.hash = j.value ->> 2)`,
		)
		.bind(JSON.stringify(rows));
	const upsert = (activeFrom: string, linked: boolean) =>
		db
			.prepare(
				`INSERT INTO audience_definitions (kind, id, hash, active_from, held, backfill_id)
SELECT value ->> 0, value ->> 1, value ->> 2, ?2, value ->> 3,
  CASE WHEN ?3 THEN (SELECT max(id) FROM backfills) END
FROM json_each(?1) WHERE true
ON CONFLICT (kind, id) DO UPDATE SET hash = excluded.hash, active_from = excluded.active_from,
  held = excluded.held, backfill_id = excluded.backfill_id`,
			)
			.bind(
				JSON.stringify(first ? rows.map((r) => [...r.slice(0, 3), 0]) : rows),
				activeFrom,
				linked ? 1 : 0,
			);
	const clear = db.prepare("DELETE FROM audience_guard");
	if (first) {
		await db.batch([guard, upsert("", false), clear]);
		return;
	}
	const ttlMs = Math.max(0, Number(env.CONFIG_CACHE_SECONDS) || 0) * 1000;
	const activeFrom = new Date(now.getTime() + ttlMs);
	const retentionMs =
		Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30) * DAY_MS;
	// The longest window the new aggregates need; a lifetime one needs all that is kept.
	const spanMs = Math.min(
		retentionMs,
		Math.max(
			0,
			...changes.aggregates.map((t) => (t.window ? t.window.ms : retentionMs)),
		),
	);
	const detail: AudienceBackfillDetail = {
		aggregates: changes.aggregates.map((t) => ({ id: t.id, hash: t.hash })),
		audiences: changes.audiences.map((a) => a.key),
		activeFrom: activeFrom.toISOString(),
		notBefore: new Date(activeFrom.getTime() + SETTLE_MS).toISOString(),
	};
	const job = insertBackfillStatement(
		db,
		{
			kind: "audience",
			detail: { ...detail },
			// No aggregate to count: the job only evaluates.
			sources:
				changes.aggregates.length === 0
					? []
					: config.config.sources
							.map((s) => s.id)
							.filter((id) => id !== plan.source),
			from: new Date(
				Math.max(activeFrom.getTime() - spanMs, now.getTime() - retentionMs),
			),
			to: activeFrom,
		},
		now,
	);
	await db.batch([guard, job, upsert(activeFrom.toISOString(), true), clear]);
}

function isRegistrationConflict(error: unknown): boolean {
	const message = error instanceof Error ? error.message : String(error);
	return /CHECK constraint failed: audience_state_unchanged/.test(message);
}

/**
 * Lets the live path evaluate audiences again (their backfill evaluated every profile): the
 * statement runs in the backfill's last batch.
 *
 * @example
 * await env.DB.batch([...advanceStatements(…), releaseStatement(env.DB, 4, ["buyers"])]);
 */
export function releaseStatement(
	db: D1Database,
	backfillId: number,
	audiences: readonly string[],
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE audience_definitions SET held = 0
WHERE kind = 'audience' AND backfill_id = ?1 AND id IN (SELECT value FROM json_each(?2))`,
		)
		.bind(backfillId, JSON.stringify(audiences));
}
