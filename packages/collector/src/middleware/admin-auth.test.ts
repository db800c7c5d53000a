import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ApiError } from "../errors";
import type { AppEnv } from "../types";
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
	return (url: string, authorization?: string) =>
		app.request(
			url,
			authorization ? { headers: { Authorization: authorization } } : {},
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

	it("accepts the development token on localhost only", async () => {
		const request = appWith(DEV_ADMIN_TOKEN);
		const bearer = `Bearer ${DEV_ADMIN_TOKEN}`;
		expect((await request("http://localhost:8787/admin", bearer)).status).toBe(
			200,
		);
		expect((await request("http://127.0.0.1:8787/admin", bearer)).status).toBe(
			200,
		);
		expect(
			(await request("https://collector.example.com/admin", bearer)).status,
		).toBe(503);
	});
});
