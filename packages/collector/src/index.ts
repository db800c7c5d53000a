import { app } from "./app";
import { consumeEvents } from "./consumer";
import { deleteEventsBefore } from "./db/events";
import { deleteIdentityRecordsBefore } from "./identity/cleanup";
import type { QueuedEvent } from "./types";

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
		const before = new Date(Date.now() - days * DAY_MS);
		const deleted = await deleteEventsBefore(env.DB, before);
		const identity = await deleteIdentityRecordsBefore(
			env.DB,
			before,
			new Date(),
		);
		console.log(
			JSON.stringify({ msg: "retention cleanup", days, deleted, identity }),
		);
	},
} satisfies ExportedHandler<Env, QueuedEvent>;
