import { env } from "cloudflare:workers";
import { insertBatchesStatements } from "../../src/db/delivery-batches";
import { keyed } from "../../src/delivery/batch-key";
import { newBatch } from "../../src/delivery/fanout";
import type { EnrichedEvent } from "../../src/event";
import { tenant } from "../delivery-helpers";

/**
 * Events resolved to `profileId` and routed to `destinationId` in one batch whose DELIVERIES
 * message was lost: the batch is pending in the log, with its message as body, and nothing is
 * queued. Returns the events as routed.
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
		context: { profileId },
	}));
	const messages = await keyed(
		[
			{
				kind: "events",
				destinationId,
				items: events.map((event) => ({ sourceId: "web", event })),
			},
		],
		"content",
	);
	await env.DB.batch(
		insertBatchesStatements(
			env.DB,
			messages.map((m) => newBatch(m)),
			now,
		),
	);
	return events;
}
