import { loadConfig } from "../config/load";
import {
	addDeletionRows,
	type PendingDeletionRow,
	pendingDeletionRows,
} from "../db/deliveries";
import { disabledDestinations } from "../db/destination-state";
import { destinationType } from "../destinations/registry";
import type { ProfileDeletion } from "../destinations/types";
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
 * Runs from the hourly cron. A deletion not forwarded yet gets a delivery-log row (kind
 * 'deletion', messageId 'deletion:<id>') per such destination, and is then marked as started
 * (`forwarding_started_at`): later runs never add rows for it again, so a row the log's retention
 * deleted is not sent a second time, and a destination added later does not get old deletions.
 * Each row goes out as a DELIVERIES message; the consumer sends, retries and dead-letters it like
 * an event. Rows still `pending` (their message was lost) are queued again on the next run; a
 * deletion is idempotent, so a duplicate is harmless. The finishing step (identity/
 * finish-erasures.ts) hashes the record's identifiers once no row can be sent again.
 *
 * Failure rule: best effort per run — an error is thrown to the scheduler (and logged there);
 * whatever was not queued is picked up by the next run (a deletion is marked started only after
 * every destination's rows are written).
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
	// none is marked started without rows for every destination.
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
		await addDeletionRows(env.DB, destination.id, upTo, now);
		const results = await pendingDeletionRows(env.DB, destination.id, PER_RUN);
		const messages: DeliveryMessage[] = results.map((row) => ({
			kind: "deletion",
			destinationId: destination.id,
			deletion: toDeletion(row),
		}));
		await enqueueAll(env.DELIVERIES, messages);
		if (messages.length > 0) queued[destination.id] = messages.length;
	}
	const started = await markForwardingStarted(env.DB, upTo, now);
	return { queued, started };
}

function toDeletion(row: PendingDeletionRow): ProfileDeletion {
	let identities: ProfileDeletion["identities"] = [];
	try {
		const parsed = JSON.parse(row.identities) as unknown;
		if (Array.isArray(parsed))
			identities = parsed.filter(
				(i): i is { type: string; value: string } =>
					typeof i?.type === "string" && typeof i?.value === "string",
			);
	} catch {
		// A malformed identities column still deletes by profile id; destinations that need
		// an identity (Segment: a userId) drop it with a reason.
		identities = [];
	}
	return {
		id: row.id,
		profileId: row.profile_id,
		identities,
		requestedAt: row.requested_at,
	};
}
