import { env } from "cloudflare:workers";
import { recordRouted } from "../../src/db/deliveries";
import { storeEvents } from "../../src/db/events";
import type { EnrichedEvent } from "../../src/event";
import { tenant } from "../delivery-helpers";

/**
 * Events stored and resolved to `profileId`, whose DELIVERIES message to `destinationId` was
 * lost: their log rows are pending and nothing is queued. Each payload carries the
 * `context.profileId` a client sent.
 */
export async function lostDeliveries(
	destinationId: string,
	profileId: string,
	count: number,
): Promise<EnrichedEvent[]> {
	const now = new Date();
	const events: EnrichedEvent[] = Array.from({ length: count }, (_, n) => ({
		type: "track",
		event: "Step",
		messageId: `msg_${tenant()}_${n}`,
		userId: `user-${destinationId}`,
		timestamp: new Date(now.getTime() + n).toISOString(),
		receivedAt: now.toISOString(),
		properties: { n },
		context: { profileId: "prof_forged_by_client" },
	}));
	const fresh = await storeEvents(
		env.DB,
		events.map((event) => ({
			sourceId: "web",
			event,
			json: JSON.stringify(event),
			queueMessageId: `queue-${event.messageId}`,
		})),
	);
	await env.DB.prepare(
		"UPDATE events SET profile_id = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
	)
		.bind(profileId, JSON.stringify(fresh.map((f) => f.rowId)))
		.run();
	await recordRouted(
		env.DB,
		events.map((event) => ({
			destinationId,
			sourceId: "web",
			messageId: event.messageId,
			kind: "event",
			profileKey: profileId,
			eventTime: event.timestamp,
		})),
		now,
	);
	return events;
}
