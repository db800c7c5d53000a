import { type RewriteRun, rewriteArchives } from "../archive/rewrite";
import { profileDeliveriesStatements } from "../db/deliveries";
import {
	hashForwardedDeletions,
	markCompleted,
	unfinishedDeletions,
} from "./deletion-record";
import { erasureStatus } from "./erasure-status";

/** Deletions checked for completion per run. */
const CHECK_PER_RUN = 100;

/** What one run of the finishing step did. */
export interface FinishRun {
	archive: RewriteRun;
	/** Deletion records whose identifiers were replaced by hashes. */
	hashed: number;
	/** Delivery-log rows of erased profiles written after their deletion, now deleted or rewritten. */
	lateDeliveryRows: number;
	/** Deletions found complete in every store and marked finished. */
	completed: number;
}

/**
 * The background half of erasure, run by the minutely cron after a deletion's transaction:
 * rewrites archive objects that still hold erased profiles (archive/rewrite.ts), hashes the
 * identifiers of deletions whose forwarding no longer needs them (deletion-record.ts), and marks
 * deletions finished once their status (erasure-status.ts) is complete in every store. A
 * delivery-log failure row or batch body holding an erased profile's event, written after the
 * deletion (fan-out racing it; the DELIVERIES consumer drops the event itself), is cleaned here.
 *
 * Failure rule: best effort per run — an error ends the run and is logged by the scheduler; every
 * part is idempotent, so the next run does what this one did not.
 *
 * @example
 * await finishErasures(env, new Date()) // { archive: { objects: { rewritten: 1 }, removedEvents: 6 }, hashed: 1, lateDeliveryRows: 0, completed: 1 }
 */
export async function finishErasures(
	env: Pick<Env, "DB" | "ARCHIVE" | "RECORDS">,
	now: Date,
): Promise<FinishRun> {
	const archive = await rewriteArchives(env, now);
	const hashed = await hashForwardedDeletions(env.DB, now);
	const done: number[] = [];
	let lateDeliveryRows = 0;
	for (const { id } of await unfinishedDeletions(env.DB, CHECK_PER_RUN)) {
		const status = await erasureStatus(env.DB, id);
		if (!status) continue;
		if (status.stores.deliveryLog.remaining > 0) {
			const [, failures, bodies] = profileDeliveriesStatements(env.DB, [
				status.profileId,
				...status.mergedProfileIds,
			]);
			for (const result of await env.DB.batch([failures, bodies]))
				lateDeliveryRows += result.meta.changes;
			continue; // complete on the next run, counted afresh
		}
		if (status.complete) done.push(id);
	}
	await markCompleted(env.DB, done, now);
	return { archive, hashed, lateDeliveryRows, completed: done.length };
}
