import { app } from "./app";
import { consumeEvents } from "./consumer";
import { deleteDeliveriesBefore } from "./db/deliveries";
import { deleteEventsBefore } from "./db/events";
import { consumeDeliveries } from "./delivery/consume";
import { forwardDeletions } from "./delivery/deletions";
import type { DeliveryMessage } from "./delivery/messages";
import type { QueuedEvent } from "./types";

/** Queue names from wrangler.toml: one Worker consumes both queues. */
const DELIVERIES_QUEUE = "conduit-deliveries";

const DAY_MS = 86_400_000;

/**
 * The collector Worker: HTTP ingest, the EVENTS and DELIVERIES queue consumers, and the hourly
 * job (retention cleanup, forwarding profile deletions to destinations).
 *
 * @example
 * npx wrangler dev   # serves this on http://localhost:8787
 */
export default {
	fetch: app.fetch,
	async queue(batch, env) {
		if (batch.queue === DELIVERIES_QUEUE)
			return consumeDeliveries(batch as MessageBatch<DeliveryMessage>, env);
		return consumeEvents(batch as MessageBatch<QueuedEvent>, env);
	},
	// Two independent best-effort jobs: one failing does not stop the other; the next run
	// picks up what was left.
	async scheduled(_controller, env) {
		const now = new Date();
		const days = Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
		const before = new Date(now.getTime() - days * DAY_MS);
		const [forwarded, cleaned] = await Promise.allSettled([
			forwardDeletions(env, now),
			(async () => ({
				events: await deleteEventsBefore(env.DB, before),
				deliveries: await deleteDeliveriesBefore(env.DB, before),
			}))(),
		]);
		for (const [job, result] of [
			["deletions forwarded", forwarded],
			["retention cleanup", cleaned],
		] as const)
			if (result.status === "fulfilled")
				console.log(JSON.stringify({ msg: job, ...result.value }));
			else
				console.error(
					JSON.stringify({
						msg: `${job}: failed`,
						error: String(result.reason),
					}),
				);
	},
} satisfies ExportedHandler<Env, QueuedEvent | DeliveryMessage>;
