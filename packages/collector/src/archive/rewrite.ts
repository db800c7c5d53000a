import { rewriteRecordsWithout } from "../records/erase";
import { RECORDS_EXTENSION } from "../records/key";
import { type DueRewrite, dueRewrites, finishRewrite } from "./archive-index";
import {
	type RewriteOutcome,
	type RewriteResult,
	rewriteWithout,
} from "./objects";
import { mayHoldAny, PROFILES_METADATA } from "./profile-filter";

/**
 * How long after a rewrite is queued it waits: a write that passed the erased check before the
 * deletion (a queue consumer runs for at most 15 minutes) has put its object by then, so the
 * rewrite reads the object's last version.
 */
export const REWRITE_GRACE_MS = 16 * 60_000;
/** Partitions rewritten per run; the rest wait for the next run. */
const PER_RUN = 10;

/** What one run did, per object by outcome, and how many events it took out. */
export interface RewriteRun {
	objects: Partial<Record<RewriteOutcome | "failed", number>>;
	removedEvents: number;
}

/** How each bucket's objects are named and rewritten. */
const FORMATS: Record<
	string,
	{
		extension: string;
		rewrite: (
			bucket: R2Bucket,
			key: string,
			profileIds: ReadonlySet<string>,
		) => Promise<RewriteResult>;
	}
> = {
	// The events of record are Parquet; the `r2` destination's archives gzip NDJSON.
	RECORDS: {
		extension: `.${RECORDS_EXTENSION}`,
		rewrite: rewriteRecordsWithout,
	},
	ARCHIVE: { extension: ".ndjson.gz", rewrite: rewriteWithout },
};

/**
 * The R2 step of erasure, run by the minutely cron: for each partition that may still hold an
 * erased profile's events (archive_partition_rewrites, oldest first, queued at least
 * REWRITE_GRACE_MS ago) — of the events of record (RECORDS) or of an `r2` destination's archive
 * (ARCHIVE) — lists its objects and rewrites each one whose profile filter may hold the person
 * without the person's events, then marks the partition done. Idempotent and resumable: an
 * object already rewritten is left as it is, and a partition not finished stays queued.
 *
 * Failure rule: isolated per partition — an object failing (R2 or D1 error, a concurrent write)
 * is logged and its partition stays queued whole; the other partitions go on.
 *
 * @example
 * await rewriteArchives(env, new Date()) // { objects: { rewritten: 1, deleted: 1 }, removedEvents: 9 }
 */
export async function rewriteArchives(
	env: Pick<Env, "DB" | "ARCHIVE" | "RECORDS">,
	now: Date,
	limit = PER_RUN,
): Promise<RewriteRun> {
	const cutoff = new Date(now.getTime() - REWRITE_GRACE_MS);
	const due = await dueRewrites(env.DB, cutoff, limit);
	const run: RewriteRun = { objects: {}, removedEvents: 0 };
	for (const rewrite of due) {
		const results = await rewritePartition(env, rewrite);
		for (const { outcome, removed } of results) {
			run.objects[outcome] = (run.objects[outcome] ?? 0) + 1;
			run.removedEvents += removed;
		}
		const unfinished = results.some(
			(r) => r.outcome === "failed" || r.outcome === "conflict",
		);
		if (unfinished) continue;
		try {
			await finishRewrite(env.DB, rewrite, cutoff);
		} catch (error) {
			logFailure(rewrite, error);
		}
	}
	return run;
}

async function rewritePartition(
	env: Pick<Env, "ARCHIVE" | "RECORDS">,
	rewrite: DueRewrite,
): Promise<{ outcome: RewriteOutcome | "failed"; removed: number }[]> {
	const bucket = bucketOf(env, rewrite.bucket);
	const format = FORMATS[rewrite.bucket];
	if (!bucket || !format) {
		logFailure(rewrite, new Error("unknown bucket"));
		return [{ outcome: "failed", removed: 0 }];
	}
	const erased = new Set(rewrite.profileIds);
	const results: { outcome: RewriteOutcome | "failed"; removed: number }[] = [];
	let cursor: string | undefined;
	try {
		do {
			const page = await bucket.list({
				prefix: rewrite.partition,
				delimiter: "/",
				cursor,
				include: ["customMetadata"],
			});
			for (const object of page.objects) {
				if (!object.key.endsWith(format.extension)) continue;
				if (!mayHoldAny(object.customMetadata?.[PROFILES_METADATA], erased))
					continue;
				try {
					results.push(await format.rewrite(bucket, object.key, erased));
				} catch (error) {
					logFailure(rewrite, error, object.key);
					results.push({ outcome: "failed", removed: 0 });
				}
			}
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor);
	} catch (error) {
		logFailure(rewrite, error);
		results.push({ outcome: "failed", removed: 0 });
	}
	return results;
}

function logFailure(rewrite: DueRewrite, error: unknown, key?: string): void {
	// The partition, object key and error only: no event content reaches the logs.
	console.error(
		JSON.stringify({
			msg: "archive rewrite failed; retrying next run",
			bucket: rewrite.bucket,
			partition: rewrite.partition,
			key,
			error: String(error),
		}),
	);
}

function bucketOf(
	env: Pick<Env, "ARCHIVE" | "RECORDS">,
	name: string,
): R2Bucket | undefined {
	if (name === "ARCHIVE") return env.ARCHIVE;
	if (name === "RECORDS") return env.RECORDS;
	return undefined;
}
