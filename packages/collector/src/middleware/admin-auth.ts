import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppEnv } from "../types";

const encoder = new TextEncoder();

/**
 * Guards the admin API with `Authorization: Bearer <ADMIN_TOKEN>` (a Worker secret; in local
 * development it comes from .dev.vars). Without the secret the admin API is off: 503.
 * The comparison takes the same time whatever the token, so it leaks nothing by timing.
 *
 * @example
 * app.post("/admin/replay", adminAuth(), handler);
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
	return async function adminAuth(c, next) {
		const expected = c.env.ADMIN_TOKEN;
		if (!expected)
			throw new ApiError(
				503,
				"admin_disabled",
				"ADMIN_TOKEN is not set on this Worker",
			);
		const header = c.req.header("authorization") ?? "";
		const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
		if (!match?.[1] || !(await sameSecret(match[1], expected)))
			throw new ApiError(
				401,
				"unauthorized",
				"A valid admin bearer token is required",
				{
					"WWW-Authenticate": 'Bearer realm="conduit-admin"',
				},
			);
		await next();
	};
}

/** Compares digests, so the inputs' lengths do not matter to timingSafeEqual. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all(
		[given, expected].map((text) =>
			crypto.subtle.digest("SHA-256", encoder.encode(text)),
		),
	);
	return crypto.subtle.timingSafeEqual(a as ArrayBuffer, b as ArrayBuffer);
}
