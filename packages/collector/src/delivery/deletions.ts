import { loadConfig } from "../config/load";
import {
	addDeletionBatchesStatements,
	unsentDeletionBodies,
} from "../db/delivery-batches";
import { disabledDestinations } from "../db/destination-state";
import { destinationType } from "../destinations/registry";
import {
	lastUnstartedDeletion,
	markForwardingStarted,
} from "../identity/deletion-record";
import { type DeliveryMessage, enqueueAll } from "./messages";

/** Deletions taken per destination per run; the rest wait for the next run. */
const PER_RUN = 1000;

/**
 * Forwards profile deletions (rows the identity API writes to `profile_deletions`) to every
 * enabled destination that can delete (webhook always; segment, amplitude, mixpanel and
 * posthog with `deletion` settings).
 * Runs from the hourly cron. A deletion not forwarded yet gets a batch in the delivery log per
 * such destination (kind 'deletion', key 'deletion:<id>:<destination>', its message built from
 * the record), and is then marked as started (`forwarding_started_at`): later runs never add
 * batches for it again, so one the log's retention deleted is not sent a second time, and a
 * destination added later does not get old deletions. Each batch goes out as a DELIVERIES
 * message; the consumer sends, retries and dead-letters it like an event. Batches never tried
 * (their message was lost) are queued again on the next run, and by the sweeper; a deletion is
 * idempotent, so a duplicate is harmless. The finishing step (identity/finish-erasures.ts)
 * hashes the record's identifiers once none can be sent again.
 *
 * Failure rule: best effort per run — an error is thrown to the scheduler (and logged there);
 * whatever was not queued is picked up by the next run (a deletion is marked started only after
 * every destination's batches are written).
 *
 * @example
 * await forwardDeletions(env, new Date()) // { queued: { hooks: 2 }, started: 1 }
 */
export async function forwardDeletions(
	env: Pick<Env, "DB" | "DELIVERIES" | "CONFIG" | "CONFIG_CACHE_SECONDS">,
	now: Date,
): Promise<{ queued: Record<string, number>; started: number }> {
	const queued: Record<string, number> = {};
	const config = await loadConfig(env);
	const disabled = await disabledDestinations(env.DB);
	// The deletions this run starts: those recorded from here on wait for the next run, so
	// none is marked started without batches for every destination.
	const upTo = await lastUnstartedDeletion(env.DB);
	for (const destination of config.config.destinations) {
		const module = destinationType(destination.type);
		if (
			!destination.enabled ||
			disabled.has(destination.id) ||
			!module.deleteProfile ||
			!module.supportsDeletion?.(destination.settings)
		)
			continue;
		await env.DB.batch(
			addDeletionBatchesStatements(env.DB, destination.id, upTo, now),
		);
		const bodies = await unsentDeletionBodies(env.DB, destination.id, PER_RUN);
		const messages = bodies.map((body) => JSON.parse(body) as DeliveryMessage);
		await enqueueAll(env.DELIVERIES, messages);
		if (messages.length > 0) queued[destination.id] = messages.length;
	}
	const started = await markForwardingStarted(env.DB, upTo, now);
	return { queued, started };
}
