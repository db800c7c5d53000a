import { env } from "cloudflare:workers";
import { recordRouted } from "../../src/db/deliveries";
import type { EnrichedEvent } from "../../src/event";
import { tenant } from "../delivery-helpers";

/**
 * Events resolved to `profileId`, whose DELIVERIES message to `destinationId` was lost: their
 * log rows are pending and nothing is queued. Each payload carries the
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
