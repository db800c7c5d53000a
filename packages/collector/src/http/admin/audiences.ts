import { Hono } from "hono";
import * as v from "valibot";
import { audienceMembers } from "../../audiences/store";
import { listAudiences } from "../../audiences/view";
import { loadConfig } from "../../config/load";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";
import { adminAuth } from "../middleware/admin-auth";
import { Count, parse } from "../parse";

const MembersQuerySchema = v.strictObject({
	cursor: v.optional(v.pipe(v.string(), v.maxLength(200)), ""),
	limit: v.optional(Count(1, 1000), "100"),
});

/**
 * The audiences admin API (Bearer ADMIN_TOKEN, see adminAuth), mounted at /admin/audiences:
 *
 * - `GET /admin/audiences` — every configured audience with its `size` and the `entered` and
 *   `exited` counts of the last 24 hours.
 * - `GET /admin/audiences/:key/members?cursor=&limit=100` — members by profile id; `next` is
 *   the cursor of the following page, absent on the last.
 *
 * @example
 * app.route("/admin/audiences", audienceRoutes);
 * // curl -H "Authorization: Bearer $ADMIN_TOKEN" http://localhost:8787/admin/audiences
 */
export const audienceRoutes = new Hono<AppEnv>();

audienceRoutes.use(adminAuth());

audienceRoutes.get("/", async (c) => {
	const config = await loadConfig(c.env);
	const audiences = await listAudiences(c.env.DB, config, new Date());
	return c.json({ success: true, audiences });
});

audienceRoutes.get("/:key/members", async (c) => {
	const key = c.req.param("key");
	const config = await loadConfig(c.env);
	const audience = config.config.audiences?.definitions.find(
		(a) => a.key === key,
	);
	if (!audience)
		throw new ApiError(404, "audience_not_found", `No audience '${key}'`);
	const { cursor, limit } = parse(MembersQuerySchema, c.req.query(), "query");
	const members = await audienceMembers(c.env.DB, key, cursor, limit);
	const last = members.at(-1);
	return c.json({
		success: true,
		audience: { key: audience.key, name: audience.name },
		members,
		...(last && members.length === limit && { next: last.profileId }),
	});
});
