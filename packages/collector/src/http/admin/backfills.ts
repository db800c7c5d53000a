import { Hono } from "hono";
import * as v from "valibot";
import { loadConfig } from "../../config/load";
import {
	type Backfill,
	endBackfill,
	getBackfill,
	listBackfills,
} from "../../db/backfills";
import {
	BackfillRequestSchema,
	startDestinationBackfill,
} from "../../delivery/backfill";
import { runBackfills } from "../../delivery/backfill-run";
import { ApiError, errorText } from "../../errors";
import type { AppEnv } from "../env";
import { adminAuth } from "../middleware/admin-auth";
import { jsonBody } from "../middleware/json-body";
import { Count, parse } from "../parse";

const ListQuerySchema = v.strictObject({
	kind: v.optional(
		v.picklist(["destination", "audience"], "must be destination or audience"),
	),
	before: v.optional(Count(0, Number.MAX_SAFE_INTEGER), "0"),
	limit: v.optional(Count(1, 200), "50"),
});

/**
 * The backfills admin API (Bearer ADMIN_TOKEN, see adminAuth), mounted at /admin/backfills;
 * `npm run backfill` drives it (docs/backfill.md).
 *
 * - `POST /admin/backfills` — `{ destination, from, to, sources? }`: sends the stored events
 *   received in [from, to) to one destination (delivery/backfill.ts); 202 with the job.
 * - `GET /admin/backfills?kind=&before=&limit=50` — jobs, newest first; `next` continues.
 * - `GET /admin/backfills/:id` — one job and its progress.
 * - `DELETE /admin/backfills/:id` — cancels a running job (what it queued is delivered).
 *
 * @example
 * app.route("/admin/backfills", backfillRoutes);
 */
export const backfillRoutes = new Hono<AppEnv>();

backfillRoutes.use(adminAuth());

backfillRoutes.post("/", jsonBody({ maxBytes: 8192 }), async (c) => {
	const request = parse(BackfillRequestSchema, c.get("body"));
	const job = await startDestinationBackfill(
		c.env,
		await loadConfig(c.env),
		request,
		new Date(),
	);
	// The first steps run now, in the background; the minute cron does the rest.
	background(c, runBackfills(c.env, { ids: [job.id] }));
	return c.json({ success: true, backfill: view(job) }, 202);
});

backfillRoutes.get("/", async (c) => {
	const query = parse(ListQuerySchema, c.req.query());
	const jobs = await listBackfills(c.env.DB, query);
	const last = jobs.at(-1);
	return c.json({
		success: true,
		backfills: jobs.map(view),
		...(last && jobs.length === query.limit && { next: last.id }),
	});
});

backfillRoutes.get("/:id", async (c) => {
	const job = await getBackfill(c.env.DB, idOf(c.req.param("id")));
	if (!job)
		throw new ApiError(
			404,
			"backfill_not_found",
			`No backfill ${c.req.param("id")}`,
		);
	return c.json({ success: true, backfill: view(job) });
});

backfillRoutes.delete("/:id", async (c) => {
	const id = idOf(c.req.param("id"));
	const cancelled = await endBackfill(
		c.env.DB,
		id,
		"cancelled",
		null,
		new Date(),
	);
	const job = await getBackfill(c.env.DB, id);
	if (!job) throw new ApiError(404, "backfill_not_found", `No backfill ${id}`);
	if (!cancelled)
		throw new ApiError(
			409,
			"backfill_not_running",
			`Backfill ${id} is ${job.status}`,
		);
	return c.json({ success: true, backfill: view(job) });
});

/**
 * A job as the API shows it: its progress, and where its scan is (the source and UTC hour of
 * the last object read).
 */
function view({ cursor, detail, ...job }: Backfill) {
	const partition =
		/source=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(cursor.after);
	return {
		...job,
		...(Object.keys(detail).length > 0 && { detail }),
		position:
			job.status === "running" && partition
				? {
						source: partition[1],
						hour: `${partition[2]}T${partition[3]}:00:00.000Z`,
					}
				: null,
	};
}

/** Runs work after the response, when the runtime offers it; logs its failure. */
function background(
	c: { executionCtx: { waitUntil(promise: Promise<unknown>): void } },
	work: Promise<unknown>,
): void {
	const logged = work.catch((error: unknown) =>
		console.error(
			JSON.stringify({ msg: "backfill step failed", error: errorText(error) }),
		),
	);
	try {
		c.executionCtx.waitUntil(logged);
	} catch {
		// No execution context (a direct app.request in a unit test): the work runs unawaited.
	}
}

function idOf(text: string): number {
	return parse(Count(1, Number.MAX_SAFE_INTEGER), text, "id");
}
