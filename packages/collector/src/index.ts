import { app } from "./app";
import { consumeEvents } from "./consumer";
import { consumeDeliveries } from "./delivery/consume";
import type { DeliveryMessage } from "./delivery/messages";
import { runScheduled } from "./scheduled";

/** Queue names from wrangler.toml: one Worker consumes both queues. */
const DELIVERIES_QUEUE = "conduit-deliveries";

/**
 * The collector Worker: HTTP ingest, the EVENTS and DELIVERIES queue consumers, and the
 * scheduled jobs (spool drain, retention cleanup, forwarding profile deletions).
 *
 * @example
 * npx wrangler dev   # serves this on http://localhost:8787
 */
export default {
	fetch: app.fetch,
	async queue(batch, env, ctx) {
		if (batch.queue === DELIVERIES_QUEUE)
			return consumeDeliveries(batch as MessageBatch<DeliveryMessage>, env);
		return consumeEvents(batch, env, ctx);
	},
	scheduled: runScheduled,
} satisfies ExportedHandler<Env, unknown>;
