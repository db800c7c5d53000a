import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { useConfig } from "./helpers/identity";

it("reports every binding, the identity cache included", async () => {
	await useConfig();
	const res = await exports.default.fetch("http://localhost/health");
	expect(res.status).toBe(200);
	const body = (await res.json()) as {
		bindings: Record<string, { ok: boolean }>;
	};
	expect(Object.keys(body.bindings)).toEqual([
		"DB",
		"CONFIG",
		"IDENTITY_CACHE",
		"EVENTS",
		"RATE_LIMITER",
	]);
	expect(Object.values(body.bindings).every((b) => b.ok)).toBe(true);
});
