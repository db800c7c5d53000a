import { deleteEventsBefore } from "./db/events";
import { drainSpool } from "./db/spool";

/** The cron triggers in wrangler.toml, and what each runs. */
export const CRONS = {
	/** Every minute: move messages spooled in D1 (while the queue refused them) to the queue. */
	drainSpool: "* * * * *",
	/** Hourly: delete stored events older than EVENT_RETENTION_DAYS. */
	retention: "17 * * * *",
} as const;

const DAY_MS = 86_400_000;

/**
 * The Worker's scheduled handler: dispatches on the cron expression that fired.
 *
 * @example
 * curl "http://localhost:8787/cdn-cgi/handler/scheduled?cron=17+*+*+*+*"   # under wrangler dev
 */
export async function runScheduled(
	controller: ScheduledController,
	env: Env,
): Promise<void> {
	if (controller.cron === CRONS.drainSpool) {
		const moved = await drainSpool(env.DB, env.EVENTS);
		if (moved > 0) console.log(JSON.stringify({ msg: "spool drained", moved }));
		return;
	}
	const days = Math.max(1, Number(env.EVENT_RETENTION_DAYS) || 30);
	const deleted = await deleteEventsBefore(
		env.DB,
		new Date(controller.scheduledTime - days * DAY_MS),
	);
	console.log(JSON.stringify({ msg: "retention cleanup", days, deleted }));
}
