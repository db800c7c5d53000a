import { app } from "./app";
import { consumeEvents } from "./consumer";
import { deleteEventsBefore } from "./db/events";

const DAY_MS = 86_400_000;

/**
 * The collector Worker: HTTP ingest, the EVENTS queue consumer and the retention cleanup.
 *
 * @example
 * npx wrangler dev   # serves this on http://localhost:8787
 */
export default {
	fetch: app.fetch,
	queue: consumeEvents,
	async scheduled(_controller, env) {
		const days = Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
		const deleted = await deleteEventsBefore(
			env.DB,
			new Date(Date.now() - days * DAY_MS),
		);
		console.log(JSON.stringify({ msg: "retention cleanup", days, deleted }));
	},
} satisfies ExportedHandler<Env, unknown>;
