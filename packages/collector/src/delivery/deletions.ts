import { loadConfig } from "../config/load";
import { disabledDestinations } from "../db/destination-state";
import { destinationType } from "../destinations/registry";
import type { ProfileDeletion } from "../destinations/types";
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
	const upTo =
		(await env.DB.prepare(
			"SELECT max(id) AS id FROM profile_deletions WHERE forwarding_started_at IS NULL",
		).first<number | null>("id")) ?? 0;
	for (const destination of config.config.destinations) {
		const module = destinationType(destination.type);
		if (
			!destination.enabled ||
			disabled.has(destination.id) ||
			!module.deleteProfile ||
			!module.supportsDeletion?.(destination.settings)
		)
			continue;
		await env.DB.prepare(
			`INSERT INTO deliveries (destination_id, source_id, message_id, kind, profile_key, event_time, status, created_at, updated_at, next_attempt_at)
SELECT ?1, '', 'deletion:' || p.id, 'deletion', p.profile_id, p.requested_at, 'pending', ?2, ?2, ?2
FROM profile_deletions AS p WHERE p.forwarding_started_at IS NULL AND p.id <= ?3
ON CONFLICT (destination_id, source_id, message_id) DO NOTHING`,
		)
			.bind(destination.id, now.toISOString(), upTo)
			.run();
		const { results } = await env.DB.prepare(
			`SELECT p.id, p.profile_id, p.identities, p.requested_at
FROM deliveries AS d JOIN profile_deletions AS p ON d.message_id = 'deletion:' || p.id
WHERE d.destination_id = ?1 AND d.kind = 'deletion' AND d.status = 'pending'
  AND p.identities_hashed_at IS NULL
ORDER BY p.id LIMIT ?2`,
		)
			.bind(destination.id, PER_RUN)
			.run<{
				id: number;
				profile_id: string;
				identities: string;
				requested_at: string;
			}>();
		const messages: DeliveryMessage[] = results.map((row) => ({
			kind: "deletion",
			destinationId: destination.id,
			deletion: toDeletion(row),
		}));
		await enqueueAll(env.DELIVERIES, messages);
		if (messages.length > 0) queued[destination.id] = messages.length;
	}
	const { meta } = await env.DB.prepare(
		"UPDATE profile_deletions SET forwarding_started_at = ?1 WHERE forwarding_started_at IS NULL AND id <= ?2",
	)
		.bind(now.toISOString(), upTo)
		.run();
	return { queued, started: meta.changes };
}

function toDeletion(row: {
	id: number;
	profile_id: string;
	identities: string;
	requested_at: string;
}): ProfileDeletion {
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
