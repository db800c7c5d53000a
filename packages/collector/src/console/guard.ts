import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { ConsoleEnv } from "./env";
import { readSession, SESSION_COOKIE, sameToken } from "./session";
import { sameOrigin } from "./sign-in";

/*
 * The console's guards, in the order they run: security headers on every answer, then (past
 * the sign-in page and the assets) a valid session, then for every mutation a same-origin
 * request carrying the session's CSRF token. Each is must pass: a request that fails one gets
 * its refusal and nothing else runs.
 */

/**
 * The console's Content-Security-Policy: its own scripts and styles only, no inline script or
 * style, no plugin, no framing, forms and connections to this origin only.
 */
export const CONTENT_SECURITY_POLICY = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"form-action 'self'",
	"frame-ancestors 'none'",
	"base-uri 'none'",
].join("; ");

/**
 * Sets the CSP and the other protective headers on every console answer; pages are never
 * cached (they show private data), hashed assets are cached for a year.
 *
 * @example
 * routes.use(securityHeaders());
 */
export function securityHeaders(): MiddlewareHandler<ConsoleEnv> {
	return async function securityHeaders(c, next) {
		await next();
		// A WebSocket upgrade's answer comes from the live-tail object with immutable headers,
		// and carries no document to protect.
		if (c.res.status === 101) return;
		const headers = c.res.headers;
		headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
		headers.set("X-Content-Type-Options", "nosniff");
		headers.set("X-Frame-Options", "DENY");
		// Not no-referrer: under it browsers send `Origin: null` even on same-origin posts, and the
		// CSRF check reads Origin. same-origin still keeps console URLs from other sites.
		headers.set("Referrer-Policy", "same-origin");
		headers.set("Cross-Origin-Opener-Policy", "same-origin");
		headers.set("Cross-Origin-Resource-Policy", "same-origin");
		if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
	};
}

/**
 * Lets through only requests with a valid session cookie (and sets `c.get("session")`); a page
 * request without one is sent to the sign-in page, anything else gets 401.
 *
 * @example
 * routes.use(requireSession());
 */
export function requireSession(): MiddlewareHandler<ConsoleEnv> {
	return async function requireSession(c, next) {
		const session = await readSession(
			c.env.ADMIN_TOKEN ?? "",
			getCookie(c, SESSION_COOKIE),
			Date.now(),
		);
		if (!session) {
			if (c.req.method === "GET" && wantsPage(c))
				return c.redirect("/console/sign-in", 303);
			return c.json(
				{
					success: false,
					code: "unauthorized",
					error: "Sign in to the console first",
				},
				401,
			);
		}
		c.set("session", session);
		await next();
	};
}

/**
 * Refuses (403) a mutation — any method but GET and HEAD — unless it comes from a page of this
 * origin (its Origin header, which page script cannot set) and carries the session's CSRF token
 * (form field `_csrf` or header `X-CSRF-Token`). The SameSite=Strict cookie already stays off
 * cross-site requests; this covers same-site neighbours and older browsers.
 *
 * @example
 * routes.use(requireSession(), requireCsrf());
 */
export function requireCsrf(): MiddlewareHandler<ConsoleEnv> {
	return async function requireCsrf(c, next) {
		if (c.req.method === "GET" || c.req.method === "HEAD") return next();
		const given =
			c.req.header("X-CSRF-Token") ?? (await formField(c, "_csrf")) ?? "";
		if (
			!sameOrigin(c.req.raw) ||
			!(await sameToken(given, c.get("session").csrf))
		)
			return c.json(
				{
					success: false,
					code: "csrf_refused",
					error:
						"This request did not come from a console page: reload the page and try again",
				},
				403,
			);
		await next();
	};
}

async function formField(
	c: Context<ConsoleEnv>,
	name: string,
): Promise<string | undefined> {
	const type = c.req.header("Content-Type") ?? "";
	if (
		!type.startsWith("application/x-www-form-urlencoded") &&
		!type.startsWith("multipart/form-data")
	)
		return undefined;
	const body = await c.req.parseBody();
	const value = body[name];
	return typeof value === "string" ? value : undefined;
}

function wantsPage(c: Context<ConsoleEnv>): boolean {
	return (c.req.header("Accept") ?? "").includes("text/html");
}
