import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalCollector, startCollector } from "./support/collector";

/*
 * The console's security rules, checked on the wire against the Worker under `wrangler dev`:
 * the session cookie's flags, the CSP, CSRF refusals, wrong tokens refused and rate-limited.
 * Each test sends its own CF-Connecting-IP (Miniflare keeps a client's value), so the failure
 * counts of one never reach another.
 */

const TOKEN = "console-security-test-token-0123456789abcdef";

/** The published development token, as `npm run dev` copies it into .dev.vars. */
const DEV_ADMIN_TOKEN =
	/^ADMIN_TOKEN=(.+)$/m.exec(
		readFileSync(new URL("../.dev.vars.example", import.meta.url), "utf8"),
	)?.[1] ?? "";

let collector: LocalCollector;
beforeAll(async () => {
	collector = await startCollector({ secrets: { ADMIN_TOKEN: TOKEN } });
});
afterAll(() => collector?.close());

const url = (path: string) => new URL(path, collector.url).toString();

function signIn(token: string, client: string, origin = collector.url.origin) {
	return fetch(url("/console/sign-in"), {
		method: "POST",
		redirect: "manual",
		headers: {
			"Content-Type": "application/x-www-form-urlencoded",
			Origin: origin,
			"CF-Connecting-IP": client,
		},
		body: new URLSearchParams({ token }),
	});
}

async function session(client: string) {
	const response = await signIn(TOKEN, client);
	expect(response.status).toBe(303);
	const cookie = response.headers.get("set-cookie") ?? "";
	const page = await fetch(url("/console/config"), {
		headers: { Cookie: cookie.split(";")[0] ?? "", Accept: "text/html" },
	});
	const html = await page.text();
	const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? "";
	return { cookie: cookie.split(";")[0] ?? "", csrf };
}

describe("console security", () => {
	it("sends an unsigned visitor to the sign-in page, with a strict CSP and no inline script", async () => {
		const home = await fetch(url("/console"), {
			redirect: "manual",
			headers: { Accept: "text/html" },
		});
		expect(home.status).toBe(303);
		expect(home.headers.get("location")).toBe("/console/sign-in");
		const page = await fetch(url("/console/sign-in"));
		const csp = page.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("default-src 'none'");
		expect(csp).toContain("script-src 'self'");
		expect(csp).not.toContain("unsafe-inline");
		expect(csp).toContain("frame-ancestors 'none'");
		const html = await page.text();
		expect(html).not.toMatch(
			/<script(?![^>]*\bsrc=)(?![^>]*application\/json)/,
		);
		expect(html).not.toMatch(/\sstyle=/);
		expect(page.headers.get("x-frame-options")).toBe("DENY");
		const api = await fetch(
			url("/console/live/deliveries?source=web&messageId=x"),
		);
		expect(api.status).toBe(401);
	});

	it("sets an HttpOnly, SameSite=Strict, short-lived session cookie on /console (not Secure on localhost)", async () => {
		const response = await signIn(TOKEN, "10.0.0.1");
		expect(response.status).toBe(303);
		const cookie = response.headers.get("set-cookie") ?? "";
		expect(cookie).toMatch(/^conduit_console=/);
		expect(cookie).toMatch(/;\s*HttpOnly/i);
		expect(cookie).toMatch(/;\s*SameSite=Strict/i);
		expect(cookie).toMatch(/;\s*Max-Age=3600/i);
		expect(cookie).toMatch(/;\s*Path=\/console/i);
		expect(cookie).not.toMatch(/;\s*Secure/i);
		expect(cookie).not.toContain(TOKEN);
	});

	it("sets Secure when the console is not on localhost", async () => {
		// Miniflare takes the URL the Worker sees from MF-Original-URL, as the edge would have it.
		const response = await fetch(url("/console/sign-in"), {
			method: "POST",
			redirect: "manual",
			headers: {
				"Content-Type": "application/x-www-form-urlencoded",
				"MF-Original-URL": "https://console.example.com/console/sign-in",
				Origin: "https://console.example.com",
				"CF-Connecting-IP": "10.0.0.2",
			},
			body: new URLSearchParams({ token: TOKEN }),
		});
		expect(response.status).toBe(303);
		expect(response.headers.get("set-cookie") ?? "").toMatch(/;\s*Secure/i);
	});

	it("refuses a mutation without the CSRF token, or from another origin", async () => {
		const { cookie, csrf } = await session("10.0.0.3");
		expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
		const post = (body: Record<string, string>, origin: string) =>
			fetch(url("/console/sign-out"), {
				method: "POST",
				redirect: "manual",
				headers: {
					Cookie: cookie,
					Origin: origin,
					"Content-Type": "application/x-www-form-urlencoded",
				},
				body: new URLSearchParams(body),
			});
		const noToken = await post({}, collector.url.origin);
		expect(noToken.status).toBe(403);
		expect(await noToken.json()).toMatchObject({ code: "csrf_refused" });
		expect(
			(await post({ _csrf: "x".repeat(43) }, collector.url.origin)).status,
		).toBe(403);
		expect((await post({ _csrf: csrf }, "http://evil.example")).status).toBe(
			403,
		);
		const ok = await post({ _csrf: csrf }, collector.url.origin);
		expect(ok.status).toBe(303);
		expect(ok.headers.get("set-cookie") ?? "").toMatch(/conduit_console=;/);
	});

	it("refuses a sign-in posted by another site's page", async () => {
		const response = await signIn(TOKEN, "10.0.0.4", "http://evil.example");
		expect(response.status).toBe(403);
		expect(response.headers.get("set-cookie")).toBeNull();
	});

	it("refuses a wrong token, then rate-limits the address even for the right one", async () => {
		const client = "10.0.0.5";
		for (let attempt = 1; attempt <= 5; attempt++) {
			const response = await signIn("wrong-token", client);
			expect(response.status).toBe(401);
			expect(response.headers.get("set-cookie")).toBeNull();
		}
		const limited = await signIn(TOKEN, client);
		expect(limited.status).toBe(429);
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(limited.headers.get("set-cookie")).toBeNull();
		// Another address is not affected.
		expect((await signIn(TOKEN, "10.0.0.6")).status).toBe(303);
		const rows = await collector.env.DB.prepare(
			"SELECT failures FROM console_sign_in_failures WHERE client = ?1",
		)
			.bind(client)
			.all<{ failures: number }>();
		expect(rows.results).toEqual([{ failures: 5 }]);
	});

	it("refuses a forged or expired cookie", async () => {
		const { cookie } = await session("10.0.0.7");
		const [name, value] = cookie.split("=") as [string, string];
		const [expiry, nonce, signature] = value.split(".") as [
			string,
			string,
			string,
		];
		const forged = `${name}=${Number(expiry) + 3_600_000}.${nonce}.${signature}`;
		const expired = `${name}=${Date.now() - 1000}.${nonce}.${signature}`;
		for (const c of [forged, expired]) {
			const response = await fetch(url("/console/config"), {
				redirect: "manual",
				headers: { Cookie: c, Accept: "text/html" },
			});
			expect(response.status).toBe(303);
		}
		const good = await fetch(url("/console/config"), {
			headers: { Cookie: cookie },
		});
		expect(good.status).toBe(200);
	});
});

describe("the development token on the console", () => {
	let dev: LocalCollector;
	beforeAll(async () => {
		dev = await startCollector({
			secrets: { ADMIN_TOKEN: DEV_ADMIN_TOKEN },
		});
	});
	afterAll(() => dev?.close());

	const post = (headers: Record<string, string>) =>
		fetch(new URL("/console/sign-in", dev.url), {
			method: "POST",
			redirect: "manual",
			headers: {
				"Content-Type": "application/x-www-form-urlencoded",
				Origin: dev.url.origin,
				...headers,
			},
			body: new URLSearchParams({ token: DEV_ADMIN_TOKEN }),
		});

	it("signs in from the console's own page on localhost, from this machine", async () => {
		const response = await post({});
		expect(response.status).toBe(303);
		expect(response.headers.get("set-cookie")).toMatch(/^conduit_console=/);
	});

	it("is refused on another host, or from another machine, as the admin API refuses it", async () => {
		const elsewhere = await post({
			"MF-Original-URL": "https://console.example.com/console/sign-in",
			Origin: "https://console.example.com",
		});
		expect(elsewhere.status).toBe(503);
		const remote = await post({ "CF-Connecting-IP": "203.0.113.9" });
		expect(remote.status).toBe(503);
		for (const response of [elsewhere, remote])
			expect(response.headers.get("set-cookie")).toBeNull();
	});
});
