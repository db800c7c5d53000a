import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../packages/sdk/test/chromium";
import { replayParked } from "../scripts/parked";
import { replayAll } from "../scripts/replay";
import { type LocalCollector, startCollector } from "./support/collector";

/*
 * Finding 10: the published development ADMIN_TOKEN must work for curl and `npm run replay` on
 * this machine and for nothing else. The collector runs with wrangler's own dev plumbing
 * (createTestHarness: Miniflare's entry worker behind wrangler's ProxyWorker, as under
 * `npm run dev`), and every request below travels over a real socket, so the Worker sees what
 * it would see under `wrangler dev`: Miniflare builds the URL from a client's MF-Original-URL,
 * the proxy rewrites Host to match, and CF-Connecting-IP comes from the socket unless the
 * client sent one.
 */

/** The published token, as `npm run dev` copies it into .dev.vars. */
const DEV_ADMIN_TOKEN =
	/^ADMIN_TOKEN=(.+)$/m.exec(
		readFileSync(new URL("../.dev.vars.example", import.meta.url), "utf8"),
	)?.[1] ?? "";

let collector: LocalCollector;
let browser: Browser;
const PROFILE_PATH = "/v1/profiles?email=nobody@example.com";

beforeAll(async () => {
	[collector, browser] = await Promise.all([
		startCollector({ secrets: { ADMIN_TOKEN: DEV_ADMIN_TOKEN } }),
		launchChromium([
			// DNS rebinding, made deterministic: evil.example resolves to this machine.
			"--host-resolver-rules=MAP evil.example 127.0.0.1",
			// Firefox and Safari have no Local Network Access checks, and neither had Chromium
			// before version 141: the attack page must be able to reach the loopback address.
			"--disable-features=LocalNetworkAccessChecks",
		]),
	]);
});

afterAll(async () => {
	await browser?.close();
	await collector?.close();
});

interface Answer {
	status: number;
	error?: string;
}

/** One request over a real socket to the collector, with exactly these headers (Host included). */
function send(
	path: string,
	headers: Record<string, string>,
	method = "GET",
): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = httpRequest(
			{
				host: "127.0.0.1",
				port: collector.url.port,
				path,
				method,
				headers: { Host: collector.url.host, ...headers },
			},
			(res) => {
				let text = "";
				res.setEncoding("utf8");
				res.on("data", (chunk) => {
					text += chunk;
				});
				res.on("end", () => {
					const body = JSON.parse(text) as { error?: string };
					resolve({ status: res.statusCode ?? 0, error: body.error });
				});
			},
		);
		req.on("error", reject);
		req.end();
	});
}

const bearer = { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` };

describe("the development admin token under wrangler dev", () => {
	it("works for a local tool: curl with Sec-Conduit-Local, npm run replay and npm run parked", async () => {
		// Past authentication, the profile lookup answers 404 for an unknown email.
		expect(
			await send(PROFILE_PATH, { ...bearer, "Sec-Conduit-Local": "1" }),
		).toEqual({ status: 404, error: "profile_not_found" });
		// scripts/replay.ts through Node's fetch. The destination does not exist, so the Worker
		// answers past authentication, with its replay error rather than 401, 403 or 503.
		const error = await replayAll({
			url: collector.url.href,
			token: DEV_ADMIN_TOKEN,
			destination: "no-such-destination",
		}).then(
			() => undefined,
			(e: Error) => e.message,
		);
		expect(error).toMatch(
			/^POST \/admin\/replay failed, HTTP 404: .*no-such-destination/,
		);
		// scripts/parked.ts the same way: past authentication, an unknown row is reported missing.
		expect(
			await replayParked(
				{ url: collector.url.href, token: DEV_ADMIN_TOKEN },
				{ ids: [999_999] },
			),
		).toEqual({ replayed: 0, refused: [], missing: [999_999] });
	});

	it("refuses Host: evil.example with MF-Original-URL: localhost, as a rebinding page sends it", async () => {
		const host = `evil.example:${collector.url.port}`;
		const attack = {
			...bearer,
			Host: host,
			"MF-Original-URL": `http://localhost:${collector.url.port}${PROFILE_PATH}`,
			// Same-origin after rebinding, so the page may set any non-forbidden header.
			"CF-Connecting-IP": "127.0.0.1",
		};
		expect(await send(PROFILE_PATH, attack)).toEqual({
			status: 403,
			error: "local_tool_required",
		});
		// Without the override the URL is evil.example itself.
		expect(await send(PROFILE_PATH, { ...bearer, Host: host })).toEqual({
			status: 503,
			error: "admin_not_configured",
		});
	});

	it("refuses a browser page, whatever its origin, and a client that says it is elsewhere", async () => {
		const pages: Record<string, string>[] = [
			{ Origin: `http://evil.example:${collector.url.port}` },
			{ Origin: "http://localhost:8788", "Sec-Fetch-Site": "same-site" },
			{},
		];
		for (const page of pages)
			expect(await send(PROFILE_PATH, { ...bearer, ...page })).toEqual({
				status: 403,
				error: "local_tool_required",
			});
		expect(
			await send(PROFILE_PATH, {
				...bearer,
				"Sec-Conduit-Local": "1",
				"CF-Connecting-IP": "203.0.113.7",
			}),
		).toEqual({ status: 503, error: "admin_not_configured" });
	});

	it("refuses a real DNS-rebinding page in Chromium, which cannot send Sec-Conduit-Local", async () => {
		const origin = `http://evil.example:${collector.url.port}`;
		const page = await browser.newPage();
		// The attacker's document, as the attacker's server would have served it before the
		// rebinding; its requests then reach the collector on 127.0.0.1 as same-origin.
		await page.route(`${origin}/rebind.html`, (route) =>
			route.fulfill({ contentType: "text/html", body: "<!doctype html>" }),
		);
		await page.goto(`${origin}/rebind.html`);
		const answers = await page.evaluate(
			async ({ token, port, path }) => {
				const headers = {
					Authorization: `Bearer ${token}`,
					"MF-Original-URL": `http://localhost:${port}${path}`,
					"CF-Connecting-IP": "127.0.0.1",
					// Forbidden: the browser drops it.
					"Sec-Conduit-Local": "1",
				};
				const get = await fetch(path, {
					headers,
					referrerPolicy: "no-referrer",
				});
				const post = await fetch("/admin/replay", {
					method: "POST",
					headers: {
						...headers,
						"MF-Original-URL": `http://localhost:${port}/admin/replay`,
						"content-type": "application/json",
					},
					body: JSON.stringify({ destination: "hooks" }),
				});
				return Promise.all(
					[get, post].map(async (r) => ({
						status: r.status,
						error: ((await r.json()) as { error?: string }).error,
					})),
				);
			},
			{ token: DEV_ADMIN_TOKEN, port: collector.url.port, path: PROFILE_PATH },
		);
		await page.close();
		expect(answers).toEqual([
			{ status: 403, error: "local_tool_required" },
			{ status: 403, error: "local_tool_required" },
		]);
	});
});
