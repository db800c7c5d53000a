import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, setCookie } from "hono/cookie";
import { ASSETS } from "./assets.generated";
import type { ConsoleEnv } from "./env";
import { requireCsrf, requireSession, securityHeaders } from "./guard";
import { configPage } from "./pages/config";
import { destinationRoutes } from "./pages/destinations";
import { liveRoutes } from "./pages/live";
import { overviewPage } from "./pages/overview";
import { profileRoutes } from "./pages/profiles";
import { createSession, SESSION_COOKIE, SESSION_SECONDS } from "./session";
import { checkSignIn, sameOrigin } from "./sign-in";
import { page } from "./views/layout";
import { SignInPage } from "./views/sign-in";

const LOCAL_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The console, mounted at /console: sign-in with the admin token, then overview, live events,
 * profiles, destinations and config pages. Every answer carries a strict CSP; every page but
 * sign-in needs the session cookie; every mutation needs the session's CSRF token.
 *
 * @example
 * app.route("/console", consoleRoutes);
 * // open http://localhost:8787/console
 */
export const consoleRoutes = new Hono<ConsoleEnv>();

consoleRoutes.use(securityHeaders());
consoleRoutes.use("*", async (c, next) => {
	if (c.req.method !== "GET" && c.req.method !== "HEAD")
		return bodyLimit({ maxSize: 64 * 1024 })(c, next);
	await next();
});

consoleRoutes.get("/assets/:name", (c) => {
	const asset = ASSETS[c.req.param("name")];
	if (!asset) return c.text("Not found", 404);
	return c.body(asset.body, 200, {
		"Content-Type": asset.type,
		// The names carry a hash of the content: a new build is a new name.
		"Cache-Control": "public, max-age=31536000, immutable",
	});
});

consoleRoutes.get("/sign-in", (c) => c.html(page(<SignInPage />)));

consoleRoutes.post("/sign-in", async (c) => {
	// A sign-in posted by another site's page (login CSRF) is refused before anything else.
	if (!sameOrigin(c.req.raw))
		return c.html(
			page(<SignInPage error="Sign in from the console's own page" />),
			403,
		);
	const form = await c.req.parseBody();
	const token = typeof form.token === "string" ? form.token.trim() : "";
	const outcome = await checkSignIn(c.env, {
		request: c.req.raw,
		token,
		client: c.req.header("CF-Connecting-IP") ?? "unknown",
		nowMs: Date.now(),
	});
	if (!outcome.ok) {
		if (outcome.retryAfterSeconds)
			c.header("Retry-After", String(outcome.retryAfterSeconds));
		return c.html(page(<SignInPage error={outcome.message} />), outcome.status);
	}
	const { value } = await createSession(c.env.ADMIN_TOKEN, Date.now());
	setCookie(c, SESSION_COOKIE, value, {
		path: "/console",
		httpOnly: true,
		// Browsers treat http://localhost as secure, but not every tool does: `wrangler dev`
		// over plain HTTP must still sign in.
		secure: !LOCAL_HOSTNAMES.has(new URL(c.req.url).hostname),
		sameSite: "Strict",
		maxAge: SESSION_SECONDS,
	});
	return c.redirect("/console", 303);
});

consoleRoutes.use(requireSession(), requireCsrf());

consoleRoutes.post("/sign-out", (c) => {
	deleteCookie(c, SESSION_COOKIE, { path: "/console" });
	return c.redirect("/console/sign-in", 303);
});

consoleRoutes.get("/", overviewPage);
consoleRoutes.get("/config", configPage);
consoleRoutes.route("/live", liveRoutes);
consoleRoutes.route("/profiles", profileRoutes);
consoleRoutes.route("/destinations", destinationRoutes);
