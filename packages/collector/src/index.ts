import { app } from "./app";
import { consumeEvents } from "./consumer";
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
	async scheduled(_controller, env) {
		const forwarded = await forwardDeletions(env, new Date());
		console.log(JSON.stringify({ msg: "deletions forwarded", ...forwarded }));
		const days = Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
		const deleted = await deleteEventsBefore(
			env.DB,
			new Date(Date.now() - days * DAY_MS),
		);
		console.log(JSON.stringify({ msg: "retention cleanup", days, deleted }));
	},
} satisfies ExportedHandler<Env, QueuedEvent | DeliveryMessage>;
