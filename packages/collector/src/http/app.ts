import {
	EVENT_TYPES,
	type EventType,
	MAX_EVENT_BYTES,
	MAX_REQUEST_BYTES,
} from "@conduit/protocol";
import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import { loadConfig } from "../config/load";
import { consoleRoutes } from "../console/routes";
import { ReplayRequestSchema, replay } from "../delivery/replay";
import { ApiError, errorBody } from "../errors";
import { eventsOfBatch, ingest } from "../ingest/accept";
import type { RequestCfFacts, RequestFacts } from "../ingest/enrich";
import { audienceRoutes } from "./admin/audiences";
import { backfillRoutes } from "./admin/backfills";
import { parkedRoutes } from "./admin/parked";
import { profileRoutes } from "./admin/profiles";
import { notFound } from "./compat/not-found";
import { routePath } from "./compat/paths";
import { settingsRoutes } from "./compat/settings";
import type { AppEnv } from "./env";
import { health } from "./health";
import { adminAuth } from "./middleware/admin-auth";
import { corsHeaders, corsPreflight, sourceCors } from "./middleware/cors";
import { jsonBody } from "./middleware/json-body";
import { rateLimit } from "./middleware/rate-limit";
import { writeKeyAuth } from "./middleware/write-key-auth";
import { parse } from "./parse";

/**
 * The collector's HTTP API: the Segment HTTP Tracking API routes plus /health.
 *
 * @example
 * const response = await app.request("/v1/track", { method: "POST", body, headers }, env);
 */
export const app = new Hono<AppEnv>({ getPath: routePath });

app.use(requestId());

app.onError((error, c) => {
	if (error instanceof ApiError)
		return c.json(
			errorBody(error.code, error.message),
			error.status,
			error.headers,
		);
	console.error(
		JSON.stringify({
			msg: "unhandled error",
			requestId: c.get("requestId"),
			error: String(error),
			stack: error.stack,
		}),
	);
	return c.json(
		errorBody(
			"internal_error",
			"Something went wrong on our side; retry the request",
		),
		500,
	);
});
app.get("/health", health);
app.route("/v1/profiles", profileRoutes);
app.route("/admin/parked", parkedRoutes);
app.route("/admin/audiences", audienceRoutes);
app.route("/admin/backfills", backfillRoutes);
app.route("/console", consoleRoutes);
app.options("/v1/*", corsPreflight());
app.route("/", settingsRoutes);

const batchChain = [
	corsHeaders(),
	jsonBody({ maxBytes: MAX_REQUEST_BYTES }),
	writeKeyAuth(),
	sourceCors(),
	rateLimit(),
] as const;
const singleChain = [
	corsHeaders(),
	jsonBody({ maxBytes: MAX_EVENT_BYTES }),
	writeKeyAuth(),
	sourceCors(),
	rateLimit(),
] as const;

async function batchHandler(c: Context<AppEnv>) {
	const events = eventsOfBatch(c.get("body"));
	const result = await ingest(c.env, events, requestFacts(c), c.get("source"));
	return c.json({ success: true, ...result });
}
app.post("/v1/batch", ...batchChain, batchHandler);
// Segment's bulk import endpoint takes the same body as /v1/batch.
app.post("/v1/import", ...batchChain, batchHandler);

function singleHandler(type: EventType) {
	return async function singleHandler(c: Context<AppEnv>) {
		const result = await ingest(
			c.env,
			[c.get("body")],
			requestFacts(c),
			c.get("source"),
			type,
		);
		const rejection = result.rejected[0];
		if (rejection)
			return c.json(errorBody("invalid_event", rejection.error), 400);
		return c.json({ success: true, ...result });
	};
}
for (const type of EVENT_TYPES)
	app.post(`/v1/${type}`, ...singleChain, singleHandler(type));

/** Re-sends a destination's failed/dead deliveries from the log (scripts/replay.ts drives it). */
app.post(
	"/admin/replay",
	adminAuth(),
	jsonBody({ maxBytes: 4096 }),
	async (c) => {
		const result = await replay(
			c.env,
			await loadConfig(c.env),
			parse(ReplayRequestSchema, c.get("body")),
			new Date(),
		);
		return c.json({ success: true, ...result });
	},
);

// Last: every path no route above serves.
app.all("*", ...notFound);

function requestFacts(c: Context<AppEnv>): RequestFacts {
	const now = Date.now();
	const header = (name: string) => c.req.header(name);
	const cf = c.req.raw.cf as RequestCfFacts | undefined;
	return {
		receivedAt: new Date(now).toISOString(),
		receivedAtMs: now,
		ip: header("cf-connecting-ip"),
		userAgent: header("user-agent"),
		fromBrowser: header("origin") !== undefined,
		gpc: header("sec-gpc") === "1",
		cf,
	};
}
