import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../config/load";
import { originAllowed } from "../config/schema";
import { ApiError } from "../errors";
import type { AppEnv } from "../types";

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
 * an Origin, such as server libraries', pass) and adds the CORS headers to the response,
 * errors included, so the page can read them. Must run after {@link writeKeyAuth}.
 *
 * @example
 * app.post("/v1/batch", jsonBody(opts), writeKeyAuth(), sourceCors(), handler);
 */
export function sourceCors(): MiddlewareHandler<AppEnv> {
	return async function sourceCors(c, next) {
		const origin = c.req.header("origin");
		if (!origin) return next();
		if (!originAllowed(c.get("source").allowedOrigins, origin))
			throw forbidden(origin);
		c.header("Access-Control-Allow-Origin", origin);
		c.header("Vary", "Origin");
		await next();
	};
}

function forbidden(origin: string) {
	return new ApiError(
		403,
		"origin_not_allowed",
		`Origin '${origin}' is not allowed for this source`,
	);
}
