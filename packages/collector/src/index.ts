import { app } from "./app";
import { consumeEvents } from "./consumer";
import { runScheduled } from "./scheduled";

/**
 * The collector Worker: HTTP ingest, the EVENTS queue consumer, and the scheduled spool drain
 * and retention cleanup.
 *
 * @example
 * npx wrangler dev   # serves this on http://localhost:8787
 */
export default {
	fetch: app.fetch,
	queue: consumeEvents,
	scheduled: runScheduled,
} satisfies ExportedHandler<Env, unknown>;
