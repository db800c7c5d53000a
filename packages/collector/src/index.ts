import { runScheduled } from "./cron";

export { LiveTail } from "./console/live-tail";

import type { DeadLetter } from "./delivery/dead-letter";
import type { DeliveryMessage } from "./delivery/messages";
import { app } from "./http/app";
import { consumeDeliveries } from "./queues/deliveries";
import { consumeDeliveryDeadLetters } from "./queues/deliveries-dlq";
import { consumeEvents } from "./queues/events";
import { consumeEventDeadLetters } from "./queues/events-dlq";
import { meterEnv } from "./queues/usage";

/** The queues this Worker consumes (wrangler.toml), and the consumer of each. */
const CONSUMERS: Record<
	string,
	(
		batch: MessageBatch<unknown>,
		env: Env,
		ctx: ExecutionContext,
	) => Promise<void>
> = {
	"conduit-events": consumeEvents,
	"conduit-deliveries": (batch, env) =>
		consumeDeliveries(batch as MessageBatch<DeliveryMessage>, env),
	"conduit-events-dlq": consumeEventDeadLetters,
	"conduit-deliveries-dlq": (batch, env) =>
		consumeDeliveryDeadLetters(batch as MessageBatch<DeadLetter>, env),
};

/**
 * The collector Worker: HTTP ingest, the queue consumers (EVENTS, DELIVERIES and their two
 * dead-letter queues), and the scheduled jobs (spool drain, retention cleanup, forwarding
 * profile deletions).
 *
 * @example
 * npx wrangler dev   # serves this on http://localhost:8787
 */
export default {
	fetch: app.fetch,
	async queue(batch, env, ctx) {
		const consume = CONSUMERS[batch.queue];
		// Only a queue wired to this Worker by mistake gets here: keep its messages for later.
		if (!consume) throw new Error(`no consumer for queue '${batch.queue}'`);
		// One JSON line per invocation: D1 rows per table, R2 and queue operations (usage.ts).
		const metered = meterEnv(env);
		try {
			return await consume(batch, metered.env, ctx);
		} finally {
			console.log(JSON.stringify(metered.line(batch)));
		}
	},
	scheduled: runScheduled,
} satisfies ExportedHandler<Env, unknown>;
