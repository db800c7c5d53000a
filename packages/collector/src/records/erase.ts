import type { RewriteResult } from "../archive/objects";
import { encodeParquet } from "./parquet";
import { RECORD_CONTENT_TYPE, readRecords } from "./records";

/**
 * Rewrites an events-of-record object without the events whose `context.profileId` is one of
 * `profileIds` (erasure's step for the RECORDS bucket, run by archive/rewrite.ts), deleting it
 * when nothing is left. Idempotent: an object that holds none of them is left alone. The write
 * is conditional on the object being the one read, so a concurrent writer is never overwritten
 * (outcome `conflict`: the rewrite stays queued).
 *
 * @example
 * await rewriteRecordsWithout(env.RECORDS, "events/source=web/dt=2026-11-01/hour=08/ab.parquet", new Set(["prof_1"]))
 * // { outcome: "rewritten", removed: 6 }
 */
export async function rewriteRecordsWithout(
	bucket: R2Bucket,
	key: string,
	profileIds: ReadonlySet<string>,
): Promise<RewriteResult> {
	const object = await bucket.get(key);
	if (!object) return { outcome: "missing", removed: 0 };
	const events = await readRecords(await object.arrayBuffer());
	const kept = events.filter(
		(e) => !profileIds.has(String(e.event.context.profileId ?? "")),
	);
	const removed = events.length - kept.length;
	if (removed === 0) return { outcome: "unchanged", removed };
	if (kept.length === 0) {
		await bucket.delete(key);
		return { outcome: "deleted", removed };
	}
	const written = await bucket.put(key, encodeParquet(kept), {
		onlyIf: { etagMatches: object.etag },
		httpMetadata: object.httpMetadata ?? { contentType: RECORD_CONTENT_TYPE },
		customMetadata: object.customMetadata ?? {},
	});
	return written
		? { outcome: "rewritten", removed }
		: { outcome: "conflict", removed: 0 };
}
