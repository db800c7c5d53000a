import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";
import { adminAuth, DEV_ADMIN_TOKEN } from "./admin-auth";

const TOKEN = "a-production-token-with-enough-characters";

function appWith(token: string | undefined) {
	const app = new Hono<AppEnv>();
	app.onError((error, c) =>
		error instanceof ApiError
			? c.json({ error: error.code }, error.status, error.headers)
			: c.json({ error: "internal" }, 500),
	);
	app.use(adminAuth());
	app.get("/admin", (c) => c.text("ok"));
	return (
		url: string,
		authorization?: string,
		headers: Record<string, string> = {},
	) =>
		app.request(
			url,
			{
				headers: {
					...headers,
					...(authorization ? { Authorization: authorization } : {}),
				},
			},
			{ ADMIN_TOKEN: token } as Env,
		);
}

describe("adminAuth", () => {
	it("lets the right bearer token through", async () => {
		const res = await appWith(TOKEN)(
			"https://c.example.com/admin",
			`Bearer ${TOKEN}`,
		);
		expect(res.status).toBe(200);
		expect(await res.text()).toBe("ok");
	});

	it("answers 401 to a missing, malformed or wrong token", async () => {
		const request = appWith(TOKEN);
		for (const header of [
			undefined,
			TOKEN,
			`Basic ${TOKEN}`,
			`Bearer ${TOKEN}x`,
			"Bearer nope",
		]) {
			const res = await request("https://c.example.com/admin", header);
			expect(res.status, String(header)).toBe(401);
			expect(res.headers.get("www-authenticate")).toContain("Bearer");
		}
	});

	it("refuses to serve without a strong enough secret", async () => {
		for (const token of [undefined, "", "short-token"]) {
			const res = await appWith(token)(
				"https://c.example.com/admin",
				`Bearer ${token}`,
			);
			expect(res.status).toBe(503);
			expect(await res.json()).toEqual({ error: "admin_not_configured" });
		}
	});

	it("accepts the development token from a local tool: loopback host and peer, and the header no page can send", async () => {
		const request = appWith(DEV_ADMIN_TOKEN);
		const bearer = `Bearer ${DEV_ADMIN_TOKEN}`;
		const tool = { "CF-Connecting-IP": "127.0.0.1", "Sec-Conduit-Local": "1" };
		for (const url of [
			"http://localhost:8787/admin",
			"http://127.0.0.1:8787/admin",
			"http://[::1]:8787/admin",
		])
			expect((await request(url, bearer, tool)).status, url).toBe(200);
		expect(
			(
				await request("http://localhost:8787/admin", bearer, {
					...tool,
					"CF-Connecting-IP": "::1",
				})
			).status,
		).toBe(200);
		expect(
			(
				await request("http://localhost:8787/admin", bearer, {
					...tool,
					"CF-Connecting-IP": "::ffff:127.0.0.1",
				})
			).status,
		).toBe(200);
	});

	it("refuses the development token on a deployed Worker, whatever the client sends (finding 10)", async () => {
		const request = appWith(DEV_ADMIN_TOKEN);
		const bearer = `Bearer ${DEV_ADMIN_TOKEN}`;
		const forged = {
			"CF-Connecting-IP": "127.0.0.1",
			"Sec-Conduit-Local": "1",
		};
		// Cloudflare: the URL is the real host.
		const deployed = await request(
			"https://collector.example.com/admin",
			bearer,
			forged,
		);
		expect(deployed.status).toBe(503);
		expect(await deployed.json()).toEqual({ error: "admin_not_configured" });
		// The edge sets CF-Connecting-IP to the client's address, never loopback; a URL of
		// localhost does not help without it.
		for (const ip of [undefined, "203.0.113.9", "10.0.0.2", "not-an-ip"]) {
			const headers: Record<string, string> = { "Sec-Conduit-Local": "1" };
			if (ip) headers["CF-Connecting-IP"] = ip;
			const res = await request("http://localhost:8787/admin", bearer, headers);
			expect(res.status, String(ip)).toBe(503);
		}
	});

	it("refuses the development token to what a web page sends: no Sec-Conduit-Local, whatever the origin (finding 10)", async () => {
		const request = appWith(DEV_ADMIN_TOKEN);
		const bearer = `Bearer ${DEV_ADMIN_TOKEN}`;
		const peer = { "CF-Connecting-IP": "127.0.0.1" };
		const pages: Record<string, string>[] = [
			{},
			{ Origin: "http://evil.example:8787" },
			{ Origin: "http://localhost:8788", "Sec-Fetch-Site": "same-site" },
			{ Origin: "null" },
			{ "Sec-Conduit-Local": "true" },
		];
		for (const page of pages) {
			const res = await request("http://localhost:8787/admin", bearer, {
				...peer,
				...page,
			});
			expect(res.status, JSON.stringify(page)).toBe(403);
			expect(await res.json()).toEqual({ error: "local_tool_required" });
		}
	});

	it("leaves a real secret alone: no local-tool rules", async () => {
		const res = await appWith(TOKEN)(
			"https://c.example.com/admin",
			`Bearer ${TOKEN}`,
			{ Origin: "https://admin.example.com" },
		);
		expect(res.status).toBe(200);
	});
});
