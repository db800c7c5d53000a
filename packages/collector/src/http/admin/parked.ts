import { Hono } from "hono";
import * as v from "valibot";
import { loadConfig } from "../../config/load";
import {
	getParked,
	listParked,
	PARKED_KINDS,
	PARKED_REASONS,
	type ParkedRow,
} from "../../db/parked";
import { ApiError } from "../../errors";
import { ParkedReplaySchema, replayParked } from "../../parked/replay";
import type { AppEnv } from "../env";
import { adminAuth } from "../middleware/admin-auth";
import { jsonBody } from "../middleware/json-body";
import { Count, parse } from "../parse";

const ListQuerySchema = v.strictObject({
	kind: v.optional(
		v.picklist(PARKED_KINDS, `must be ${PARKED_KINDS.join(" or ")}`),
	),
	reason: v.optional(
		v.picklist(PARKED_REASONS, `must be one of ${PARKED_REASONS.join(", ")}`),
	),
	after: v.optional(Count(0, Number.MAX_SAFE_INTEGER), "0"),
	limit: v.optional(Count(1, 500), "100"),
});

/**
 * The admin API of parked events and deliveries (Bearer ADMIN_TOKEN, see adminAuth), mounted at
 * /admin/parked; `npm run parked` drives it.
 *
 * - `GET /admin/parked?kind=event&reason=&after=0&limit=100` — rows waiting for an operator,
 *   oldest first, without their payload (`payloadBytes` says how large it is); `next` continues.
 * - `GET /admin/parked/:id` — one row with its payload (the event, or the dead letter with the
 *   destination's answer), replayed or not.
 * - `POST /admin/parked/replay` — `{ "ids": [...] }`, or `{ "kind", "reason"?, "after"?,
 *   "limit"? }` for a page of waiting rows (see parked/replay.ts).
 *
 * @example
 * app.route("/admin/parked", parkedRoutes);
 * // curl -H "Authorization: Bearer $ADMIN_TOKEN" "http://localhost:8787/admin/parked?kind=event"
 */
export const parkedRoutes = new Hono<AppEnv>();

parkedRoutes.use(adminAuth());

parkedRoutes.get("/", async (c) => {
	const query = parse(ListQuerySchema, c.req.query());
	const rows = await listParked(c.env.DB, query);
	const last = rows.at(-1);
	return c.json({
		success: true,
		rows: rows.map(summary),
		...(last && rows.length === query.limit && { next: last.id }),
	});
});

parkedRoutes.get("/:id", async (c) => {
	const id = parse(Count(1, Number.MAX_SAFE_INTEGER), c.req.param("id"), "id");
	const row = await getParked(c.env.DB, id);
	if (!row) throw new ApiError(404, "parked_not_found", `No parked row ${id}`);
	return c.json({ success: true, row });
});

parkedRoutes.post("/replay", jsonBody({ maxBytes: 64 * 1024 }), async (c) => {
	const request = parse(ParkedReplaySchema, c.get("body"));
	const result = await replayParked(
		c.env,
		await loadConfig(c.env),
		request,
		new Date(),
	);
	return c.json({ success: true, ...result });
});

function summary({ payload, ...row }: ParkedRow) {
	return { ...row, payloadBytes: new TextEncoder().encode(payload).byteLength };
}
