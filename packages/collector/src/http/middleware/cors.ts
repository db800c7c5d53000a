import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../../config/load";
import { originAllowed } from "../../config/schema";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";

const ALLOW_METHODS = "POST, OPTIONS";
const ALLOW_HEADERS = "Content-Type, Content-Encoding, Authorization";
/** Browsers cap this (Chromium at 2 h); a day lets the others cache preflights longer. */
const MAX_AGE_SECONDS = "86400";

/**
 * Answers CORS preflights. A preflight carries no write key, so an origin passes when any
 * enabled source allows it; the real request is then checked against its own source by
 * {@link sourceCors}. A disallowed origin gets 403 and no CORS headers.
 *
 * @example
 * app.options("/v1/*", corsPreflight());
 */
export function corsPreflight(): MiddlewareHandler<AppEnv> {
	return async function corsPreflight(c) {
		const origin = c.req.header("origin");
		if (!origin)
			throw new ApiError(
				400,
				"bad_request",
				"A CORS preflight needs an Origin header",
			);
		const config = await loadConfig(c.env);
		if (!originAllowed(config.origins, origin)) throw forbidden(origin);
		return c.body(null, 204, {
			"Access-Control-Allow-Origin": origin,
			"Access-Control-Allow-Methods": ALLOW_METHODS,
			"Access-Control-Allow-Headers":
				c.req.header("access-control-request-headers") ?? ALLOW_HEADERS,
			"Access-Control-Max-Age": MAX_AGE_SECONDS,
			Vary: "Origin",
		});
	};
}

/**
 * Checks a browser request's Origin against its source's `allowedOrigins` (requests without
 * an Origin, such as server libraries', pass): a disallowed origin gets 403. Must run after
 * {@link writeKeyAuth}; {@link corsHeaders} adds the headers.
 *
 * @example
 * app.post("/v1/batch", corsHeaders(), jsonBody(opts), writeKeyAuth(), sourceCors(), handler);
 */
export function sourceCors(): MiddlewareHandler<AppEnv> {
	return async function sourceCors(c, next) {
		const origin = c.req.header("origin");
		if (origin && !originAllowed(c.get("source").allowedOrigins, origin))
			throw forbidden(origin);
		await next();
	};
}

/**
 * Adds the CORS headers to every answer a browser may read — errors included, and with
 * Retry-After exposed — so a page can tell a 400 or 401 from an outage and honour a 429's or
 * 503's delay. Once the source is known its own check ({@link sourceCors}) decides; an error
 * raised before that (bad body, unknown key, config down) is readable by origins some source
 * allows. The 403 for a disallowed origin never carries CORS headers. Runs first in the chain.
 *
 * @example
 * app.post("/v1/batch", corsHeaders(), jsonBody(opts), writeKeyAuth(), sourceCors(), handler);
 */
export function corsHeaders(): MiddlewareHandler<AppEnv> {
	return async function corsHeaders(c, next) {
		await next();
		const origin = c.req.header("origin");
		if (!origin) return;
		if (c.error instanceof ApiError && c.error.code === ORIGIN_NOT_ALLOWED)
			return;
		if (!c.get("source") && !(await someSourceAllows(c.env, origin))) return;
		c.header("Access-Control-Allow-Origin", origin);
		c.header("Access-Control-Expose-Headers", "Retry-After");
		c.header("Vary", "Origin");
	};
}

async function someSourceAllows(env: Env, origin: string): Promise<boolean> {
	try {
		return originAllowed((await loadConfig(env)).origins, origin);
	} catch {
		// No readable config: the answer is a generic 503 the page may as well read.
		return true;
	}
}

const ORIGIN_NOT_ALLOWED = "origin_not_allowed";

function forbidden(origin: string) {
	return new ApiError(
		403,
		ORIGIN_NOT_ALLOWED,
		`Origin '${origin}' is not allowed for this source`,
	);
}
