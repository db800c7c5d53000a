import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../packages/sdk/test/chromium";
import {
	devConfig,
	type LocalCollector,
	startCollector,
} from "./support/collector";
import { EVENT_JSON, queryEventsFast, waitForRecords } from "./support/events";

/*
 * The example shop (examples/script-tag), loaded in Chromium, sends its events through the
 * script-tag build to the collector Worker started here (workerd with fresh local D1, KV and
 * queues: test/support/collector.ts), and they land in D1. KV holds config/dev.json, with the
 * example's origin for this run added to the "web" source: `npm run dev` serves it on :8788, which
 * config/dev.json allows, but a test must not depend on that port being free. The page comes
 * from a node:http server: it must answer from loopback (Chromium's Local Network Access lets
 * only local pages call a loopback collector, so a page faked by request routing would be
 * refused), serve the freshly built conduit.js, and point the page's data-endpoint at the
 * collector's port, which no static-server package does.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
let EXAMPLE = "";
let collector: LocalCollector;
let browser: Browser;
let site: Server | undefined;

beforeAll(async () => {
	site = await serveExample();
	EXAMPLE = `http://localhost:${(site.address() as AddressInfo).port}`;
	[collector, browser] = await Promise.all([
		startCollector(),
		launchChromium(),
	]);
	// Before the first request, so no isolate has cached the config yet.
	const config = structuredClone(devConfig) as unknown as {
		sources: { id: string; allowedOrigins: string[] }[];
	};
	config.sources.find((s) => s.id === "web")?.allowedOrigins.push(EXAMPLE);
	await collector.env.CONFIG.put("config", JSON.stringify(config));
});

afterAll(async () => {
	site?.close();
	await browser?.close();
	await collector?.close();
});

interface Row {
	type: string;
	event: string | null;
	user_id: string | null;
	anonymous_id: string;
	payload: string;
}

/**
 * The web source's events of record, once `count` are stored (the consumer batches for ≤1 s),
 * as `npm run events -- query --local` answers them.
 */
async function storedEvents(count: number): Promise<Row[]> {
	await waitForRecords(collector, (events) => events.length >= count);
	const rows = await queryEventsFast<Row>(
		collector,
		`SELECT type, event, userId AS user_id, anonymousId AS anonymous_id, ${EVENT_JSON} AS payload
FROM events WHERE sourceId = 'web' ORDER BY messageId`,
	);
	if (rows.length < count)
		throw new Error(
			`${rows.length} events stored after 15 s; expected ${count}`,
		);
	return rows;
}

const TYPES: Record<string, string> = {
	".html": "text/html",
	".js": "text/javascript",
	".css": "text/css",
};

/** Serves examples/script-tag, as `npm run dev` does, with the collector's URL in it. */
function serveExample(): Promise<Server> {
	const server = createServer((request, response) => {
		const path = new URL(request.url ?? "/", "http://localhost").pathname;
		const file =
			path === "/conduit.js"
				? join(root, "packages/sdk/dist/conduit.js")
				: join(root, "examples/script-tag", path === "/" ? "index.html" : path);
		if (!file.startsWith(root) || !existsSync(file))
			return response.writeHead(404).end();
		let body = readFileSync(file, "utf8");
		if (path === "/")
			body = body.replace(
				'data-endpoint="http://localhost:8787"',
				`data-endpoint="${collector.url.origin}"`,
			);
		response
			.writeHead(200, { "content-type": TYPES[extname(file)] ?? "text/plain" })
			.end(body);
	});
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "localhost", () => resolve(server));
	});
}

it("delivers the example shop's page, track, identify and consent events into D1", async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	const sent: { at: number; url: string }[] = [];
	page.on("request", (request) => {
		if (request.url().startsWith(collector.url.origin))
			sent.push({ at: Date.now(), url: request.url() });
	});
	await page.goto(`${EXAMPLE}/`);
	await page.click('[data-sku="ESP-250"]');
	await page.click("#signin button");
	// Opt-in: until the visitor accepts, nothing is stored and nothing is sent.
	expect(await context.cookies()).toEqual([]);
	const acceptedAt = Date.now();
	await page.click("#accept");

	const rows = await storedEvents(4);
	// What the page's context is made of (a string: this file is type-checked without the DOM).
	const browserFacts = await page.evaluate<Record<string, unknown>>(`({
		userAgent: navigator.userAgent,
		locale: navigator.language,
		screen: { width: screen.width, height: screen.height, density: devicePixelRatio },
		timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
	})`);
	expect(sent.length).toBeGreaterThan(0);
	expect(sent.every((request) => request.at >= acceptedAt)).toBe(true);
	expect(
		sent.every((request) => request.url === `${collector.url.origin}/v1/batch`),
	).toBe(true);
	expect(rows.map((row) => row.event ?? row.type)).toEqual([
		"page",
		"Product Added",
		"identify",
		"Segment Consent Preference Updated",
	]);
	const anonymousId = rows[0]?.anonymous_id;
	expect(anonymousId).toMatch(/^[0-9A-Z]{26}$/);
	for (const row of rows) {
		expect(row.anonymous_id).toBe(anonymousId);
		const payload = JSON.parse(row.payload);
		expect(payload.context.library).toEqual({
			name: "@conduit/sdk",
			version: "0.1.0",
		});
		expect(payload.context.consent.categoryPreferences).toEqual({
			necessary: true,
			analytics: true,
			marketing: false,
		});
		// The SDK sends the context its events share once per body, at the batch's top: the
		// collector stores it whole in each event.
		expect(payload.context).toMatchObject({
			...browserFacts,
			page: {
				path: "/",
				referrer: "",
				search: "",
				title: "Conduit Coffee",
				url: `${EXAMPLE}/`,
			},
		});
		expect(Date.parse(payload.sentAt)).toBeGreaterThanOrEqual(acceptedAt);
	}
	expect(rows[2]?.user_id).toBe("user-ada@example.com");
	expect(JSON.parse(rows[1]?.payload ?? "{}").properties).toMatchObject({
		sku: "ESP-250",
		price: 9.5,
	});
	const cookies = (await context.cookies()).map((cookie) => cookie.value);
	expect(cookies).toContain(anonymousId);
	await context.close();
}, 30_000);
