import { rewriteRecordsWithout } from "../records/erase";
import { type DueRewrite, dueRewrites, finishRewrite } from "./archive-index";
import { type RewriteOutcome, rewriteWithout } from "./objects";

/**
 * How long after a rewrite is queued it waits: a write that passed the erased check before the
 * deletion (a queue consumer runs for at most 15 minutes) has put its object by then, so the
 * rewrite reads the object's last version.
 */
export const REWRITE_GRACE_MS = 16 * 60_000;
/** Objects rewritten per run; the rest wait for the next run. */
const PER_RUN = 50;

/** What one run did, by outcome, and how many events it took out. */
export interface RewriteRun {
	objects: Partial<Record<RewriteOutcome | "failed", number>>;
	removedEvents: number;
}

/**
 * The R2 step of erasure, run by the minutely cron: rewrites each object — an event of record
 * (RECORDS) or an `r2` destination's archive (ARCHIVE) — that still holds an erased profile's events (archive_rewrites, oldest first, queued at least REWRITE_GRACE_MS
 * ago) without them, then marks it done. Idempotent and resumable: an object already rewritten
 * is left as it is, and whatever a run does not finish stays queued for the next.
 *
 * Failure rule: isolated per object — one object failing (R2 or D1 error, a concurrent write)
 * is logged and stays queued; the others go on.
 *
 * @example
 * await rewriteArchives(env, new Date()) // { objects: { rewritten: 1, deleted: 1 }, removedEvents: 9 }
 */
export async function rewriteArchives(
	env: Pick<Env, "DB" | "ARCHIVE" | "RECORDS">,
	now: Date,
	limit = PER_RUN,
): Promise<RewriteRun> {
	const due = await dueRewrites(
		env.DB,
		new Date(now.getTime() - REWRITE_GRACE_MS),
		limit,
	);
	const run: RewriteRun = { objects: {}, removedEvents: 0 };
	for (const rewrite of due) {
		const outcome = await rewriteOne(env, rewrite);
		run.objects[outcome.outcome] = (run.objects[outcome.outcome] ?? 0) + 1;
		run.removedEvents += outcome.removed;
	}
	return run;
}

async function rewriteOne(
	env: Pick<Env, "DB" | "ARCHIVE" | "RECORDS">,
	rewrite: DueRewrite,
): Promise<{ outcome: RewriteOutcome | "failed"; removed: number }> {
	const bucket = bucketOf(env, rewrite.bucket);
	if (!bucket) {
		console.error(
			JSON.stringify({
				msg: "archive rewrite: unknown bucket",
				bucket: rewrite.bucket,
			}),
		);
		return { outcome: "failed", removed: 0 };
	}
	try {
		// The events of record are Parquet; the `r2` destination's archives gzip NDJSON.
		const rewriter =
			rewrite.bucket === "RECORDS" ? rewriteRecordsWithout : rewriteWithout;
		const result = await rewriter(
			bucket,
			rewrite.key,
			new Set(rewrite.profileIds),
		);
		if (result.outcome !== "conflict") await finishRewrite(env.DB, rewrite);
		return result;
	} catch (error) {
		// The object key and error only: no event content reaches the logs.
		console.error(
			JSON.stringify({
				msg: "archive rewrite failed; retrying next run",
				key: rewrite.key,
				error: String(error),
			}),
		);
		return { outcome: "failed", removed: 0 };
	}
}

function bucketOf(
	env: Pick<Env, "ARCHIVE" | "RECORDS">,
	name: string,
): R2Bucket | undefined {
	if (name === "ARCHIVE") return env.ARCHIVE;
	if (name === "RECORDS") return env.RECORDS;
	return undefined;
}
