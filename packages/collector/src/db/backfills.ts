/*
 * Backfill jobs (migrations/0014_backfills.sql): every query on the `backfills` table. A job's
 * cursor moves only through {@link advanceBackfill}, guarded by the cursor its step started
 * from, so two runs of one step cannot both count or move it.
 */

/** Where a job stands. */
export type BackfillStatus = "running" | "done" | "failed" | "cancelled";

/** What a job reads into. */
export type BackfillKind = "destination" | "audience";

/** A job, as the API shows it and the runner reads it. */
export interface Backfill {
	id: number;
	kind: BackfillKind;
	destinationId: string | null;
	detail: Record<string, unknown>;
	sources: string[];
	from: string;
	to: string;
	status: BackfillStatus;
	cursor: { source: number; after: string };
	steps: number;
	objectsScanned: number;
	eventsRead: number;
	eventsSent: number;
	error: string | null;
	createdAt: string;
	startedAt: string | null;
	updatedAt: string;
	finishedAt: string | null;
}

interface Row {
	id: number;
	kind: BackfillKind;
	destination_id: string | null;
	detail: string;
	sources: string;
	range_from: string;
	range_to: string;
	status: BackfillStatus;
	source_index: number;
	after_key: string;
	steps: number;
	objects_scanned: number;
	events_read: number;
	events_sent: number;
	error: string | null;
	created_at: string;
	started_at: string | null;
	updated_at: string;
	finished_at: string | null;
}

/** Longest error text kept on a failed job. */
const MAX_ERROR_CHARS = 2000;

function fromRow(row: Row): Backfill {
	return {
		id: row.id,
		kind: row.kind,
		destinationId: row.destination_id,
		detail: JSON.parse(row.detail) as Record<string, unknown>,
		sources: JSON.parse(row.sources) as string[],
		from: row.range_from,
		to: row.range_to,
		status: row.status,
		cursor: { source: row.source_index, after: row.after_key },
		steps: row.steps,
		objectsScanned: row.objects_scanned,
		eventsRead: row.events_read,
		eventsSent: row.events_sent,
		error: row.error,
		createdAt: row.created_at,
		startedAt: row.started_at,
		updatedAt: row.updated_at,
		finishedAt: row.finished_at,
	};
}

const COLUMNS = `id, kind, destination_id, detail, sources, range_from, range_to, status, source_index,
  after_key, steps, objects_scanned, events_read, events_sent, error, created_at, started_at,
  updated_at, finished_at`;

/** A job to create. */
export interface NewBackfill {
	kind: BackfillKind;
	destinationId?: string;
	detail?: Record<string, unknown>;
	sources: readonly string[];
	from: Date;
	to: Date;
}

/**
 * Creates a running job and returns it.
 *
 * @example
 * await insertBackfill(env.DB, { kind: "destination", destinationId: "hooks", sources: ["web"], from, to }, new Date())
 * // { id: 1, status: "running", cursor: { source: 0, after: "" }, … }
 */
export async function insertBackfill(
	db: D1Database,
	job: NewBackfill,
	now: Date,
): Promise<Backfill> {
	const row = await insertBackfillStatement(db, job, now).first<Row>();
	if (!row) throw new Error("backfills: INSERT returned no row");
	return fromRow(row);
}

/**
 * The statement creating a job, to run in a caller's batch (the new row is the table's
 * highest id within that batch).
 *
 * @example
 * await env.DB.batch([guard, insertBackfillStatement(env.DB, job, now), link]);
 */
export function insertBackfillStatement(
	db: D1Database,
	job: NewBackfill,
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO backfills (kind, destination_id, detail, sources, range_from, range_to, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING ${COLUMNS}`,
		)
		.bind(
			job.kind,
			job.destinationId ?? null,
			JSON.stringify(job.detail ?? {}),
			JSON.stringify(job.sources),
			job.from.toISOString(),
			job.to.toISOString(),
			now.toISOString(),
		);
}

/**
 * One job by id, or undefined.
 *
 * @example
 * await getBackfill(env.DB, 1) // { id: 1, status: "done", eventsSent: 120, … }
 */
export async function getBackfill(
	db: D1Database,
	id: number,
): Promise<Backfill | undefined> {
	const row = await db
		.prepare(`SELECT ${COLUMNS} FROM backfills WHERE id = ?1`)
		.bind(id)
		.first<Row>();
	return row ? fromRow(row) : undefined;
}

/**
 * Jobs newest first, `before` an id (0: from the newest), at most `limit`.
 *
 * @example
 * await listBackfills(env.DB, { before: 0, limit: 50 }) // [{ id: 7, … }, { id: 6, … }]
 */
export async function listBackfills(
	db: D1Database,
	{
		before,
		limit,
		kind,
	}: { before: number; limit: number; kind?: BackfillKind },
): Promise<Backfill[]> {
	const { results } = await db
		.prepare(
			`SELECT ${COLUMNS} FROM backfills
WHERE (?1 = 0 OR id < ?1) AND (?3 IS NULL OR kind = ?3) ORDER BY id DESC LIMIT ?2`,
		)
		.bind(before, limit, kind ?? null)
		.run<Row>();
	return results.map(fromRow);
}

/**
 * Takes the lease of a running job nobody else holds, until `until`; returns the job, or
 * undefined when it is not running or leased by another runner.
 *
 * @example
 * const job = await leaseBackfill(env.DB, 1, new Date(), new Date(Date.now() + 60_000));
 */
export async function leaseBackfill(
	db: D1Database,
	id: number,
	now: Date,
	until: Date,
): Promise<Backfill | undefined> {
	const row = await db
		.prepare(
			`UPDATE backfills SET lease_until = ?3, started_at = coalesce(started_at, ?2), updated_at = ?2
WHERE id = ?1 AND status = 'running' AND (lease_until IS NULL OR lease_until <= ?2)
RETURNING ${COLUMNS}`,
		)
		.bind(id, now.toISOString(), until.toISOString())
		.first<Row>();
	return row ? fromRow(row) : undefined;
}

/**
 * The ids of running jobs, oldest first.
 *
 * @example
 * await runningBackfills(env.DB, 10) // [3, 5]
 */
export async function runningBackfills(
	db: D1Database,
	limit: number,
): Promise<number[]> {
	const { results } = await db
		.prepare(
			"SELECT id FROM backfills WHERE status = 'running' ORDER BY id LIMIT ?1",
		)
		.bind(limit)
		.run<{ id: number }>();
	return results.map((r) => r.id);
}

/** What one step did. */
export interface StepProgress {
	cursor: { source: number; after: string };
	objects: number;
	read: number;
	sent: number;
	done: boolean;
}

/**
 * Records a step: adds its counts, moves the cursor and (when the scan is over) finishes the
 * job, all only if the job is still running at the cursor the step started from. Returns
 * whether it did; false means another run recorded this step first (or the job was
 * cancelled), and this step's work must count for nothing more.
 *
 * @example
 * await advanceBackfill(env.DB, job, { cursor, objects: 20, read: 900, sent: 850, done: false }, new Date()) // true
 */
export async function advanceBackfill(
	db: D1Database,
	job: Pick<Backfill, "id" | "cursor">,
	step: StepProgress,
	now: Date,
): Promise<boolean> {
	const row = await stepStatement(db, job, step, now).first<{ id: number }>();
	return row !== null;
}

/**
 * The UPDATE that records a step (counts, cursor, done), only if the job is still running at
 * the cursor the step started from; it returns the id of the job it moved.
 */
function stepStatement(
	db: D1Database,
	job: Pick<Backfill, "id" | "cursor">,
	step: StepProgress,
	now: Date,
): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE backfills SET source_index = ?4, after_key = ?5, steps = steps + 1,
  objects_scanned = objects_scanned + ?6, events_read = events_read + ?7, events_sent = events_sent + ?8,
  status = CASE WHEN ?9 THEN 'done' ELSE status END, finished_at = CASE WHEN ?9 THEN ?10 END,
  lease_until = NULL, error = NULL, updated_at = ?10
WHERE id = ?1 AND status = 'running' AND source_index = ?2 AND after_key = ?3
RETURNING id`,
		)
		.bind(
			job.id,
			job.cursor.source,
			job.cursor.after,
			step.cursor.source,
			step.cursor.after,
			step.objects,
			step.read,
			step.sent,
			step.done ? 1 : 0,
			now.toISOString(),
		);
}

/**
 * The statements that record a step inside a caller's D1 batch (one transaction) with the
 * state the step wrote: the first fails the whole batch (`isCursorConflict`) unless the job is
 * still running at the cursor the step started from, so the step's writes and its progress
 * land together or not at all.
 *
 * @example
 * await env.DB.batch([...advanceStatements(env.DB, job, step, now), ...stateWrites]);
 */
export function advanceStatements(
	db: D1Database,
	job: Pick<Backfill, "id" | "cursor">,
	step: StepProgress,
	now: Date,
): D1PreparedStatement[] {
	return [
		db
			.prepare(
				`INSERT INTO backfill_guard (ok) SELECT EXISTS (SELECT 1 FROM backfills
  WHERE id = ?1 AND status = 'running' AND source_index = ?2 AND after_key = ?3)`,
			)
			.bind(job.id, job.cursor.source, job.cursor.after),
		// The guard above holds inside the batch, so this moves the job every time it runs.
		stepStatement(db, job, step, now),
		db.prepare("DELETE FROM backfill_guard"),
	];
}

/**
 * Whether a batch with {@link advanceStatements} failed because another run recorded the step.
 *
 * @example
 * isCursorConflict(new Error("D1_ERROR: CHECK constraint failed: backfill_cursor_unchanged")) // true
 */
export function isCursorConflict(error: unknown): boolean {
	const message = error instanceof Error ? error.message : String(error);
	return /CHECK constraint failed: backfill_cursor_unchanged/.test(message);
}

/**
 * Ends a running job with an error (or cancels it, with `status: "cancelled"`); false when it
 * was not running.
 *
 * @example
 * await endBackfill(env.DB, 1, "failed", "destination 'hooks' is no longer in the config", new Date())
 */
export async function endBackfill(
	db: D1Database,
	id: number,
	status: "failed" | "cancelled",
	error: string | null,
	now: Date,
): Promise<boolean> {
	const row = await db
		.prepare(
			`UPDATE backfills SET status = ?2, error = ?3, lease_until = NULL, finished_at = ?4, updated_at = ?4
WHERE id = ?1 AND status = 'running' RETURNING id`,
		)
		.bind(
			id,
			status,
			error?.slice(0, MAX_ERROR_CHARS) ?? null,
			now.toISOString(),
		)
		.first<{ id: number }>();
	return row !== null;
}

/**
 * Lets a job's lease go without recording a step, keeping the error the step failed with, if
 * any (the next run tries the step again; the API shows the error meanwhile).
 *
 * @example
 * await releaseBackfill(env.DB, 1, "R2: internal error")
 */
export async function releaseBackfill(
	db: D1Database,
	id: number,
	error: string | null,
): Promise<void> {
	await db
		.prepare(
			"UPDATE backfills SET lease_until = NULL, error = coalesce(?2, error) WHERE id = ?1 AND status = 'running'",
		)
		.bind(id, error?.slice(0, MAX_ERROR_CHARS) ?? null)
		.run();
}
