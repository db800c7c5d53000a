import type { HtEventsBrowser } from "@ht-sdks/events-sdk-js-browser";
import type { RudderAnalytics } from "@rudderstack/analytics-js";
import Rudder from "@rudderstack/rudder-sdk-node";
import type { AnalyticsBrowser } from "@segment/analytics-next";
import LegacyAnalytics from "analytics-node";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../packages/sdk/test/chromium";
import { serveLibraries } from "./clients/browser";
import {
	DEV_WRITE_KEY,
	devConfig,
	type LocalCollector,
	startCollector,
} from "./support/collector";
import { EVENT_JSON, queryEventsFast, waitForRecords } from "./support/events";

/*
 * The Segment- and RudderStack-protocol libraries npm carries, unchanged, pointed at the
 * collector (docs/compatibility.md): analytics-next, rudder-sdk-js v3 and Hightouch's browser
 * SDK in Chromium, rudder-sdk-node and analytics-node 6.x in Node. One collector (workerd, fresh local D1/KV/Queues) and one Chromium
 * serve every test; each finds its events in D1. @segment/analytics-node has its own file
 * (segment-node.test.ts). The clients npm does not carry are replayed inside workerd
 * (packages/collector/test/compat/clients.test.ts).
 */

interface Libraries {
	AnalyticsBrowser: typeof AnalyticsBrowser;
	RudderAnalytics: typeof RudderAnalytics;
	HtEventsBrowser: typeof HtEventsBrowser;
}

let collector: LocalCollector;
let browser: Browser;
let site: { origin: string; close(): void } | undefined;
let context: BrowserContext | undefined;

beforeAll(async () => {
	site = await serveLibraries();
	[collector, browser] = await Promise.all([
		startCollector(),
		launchChromium(),
	]);
	const config = structuredClone(devConfig) as unknown as {
		sources: { id: string; allowedOrigins: string[] }[];
	};
	config.sources.find((s) => s.id === "web")?.allowedOrigins.push(site.origin);
	await collector.env.CONFIG.put("config", JSON.stringify(config));
});

afterAll(async () => {
	await context?.close();
	site?.close();
	await browser?.close();
	await collector?.close();
});

interface Row {
	message_id: string;
	type: string;
	user_id: string | null;
	payload: string;
}

/** The events of record of `userId`, once `count` are stored (the consumer batches for up to a second). */
async function rowsOf(userId: string, count: number): Promise<Row[]> {
	await waitForRecords(
		collector,
		(events) => events.filter((e) => e.event.userId === userId).length >= count,
	);
	return queryEventsFast<Row>(
		collector,
		`SELECT messageId AS message_id, type, userId AS user_id, ${EVENT_JSON} AS payload
FROM events WHERE userId = '${userId.replaceAll("'", "''")}' ORDER BY type`,
	);
}

/**
 * A fresh page (own storage) on the libraries' origin; every request it makes is recorded as
 * `METHOD path` for the collector's origin, or as the full URL for anything else.
 */
async function openPage(): Promise<{ page: Page; requests: string[] }> {
	await context?.close();
	context = await browser.newContext();
	const page = await context.newPage();
	const requests: string[] = [];
	page.on("request", (request) => {
		const url = new URL(request.url());
		if (url.origin === collector.url.origin)
			requests.push(`${request.method()} ${url.pathname}`);
		else if (url.origin !== site?.origin) requests.push(url.href);
	});
	await page.goto(`${site?.origin}/`);
	return { page, requests };
}

/** Nothing went anywhere but the collector (openPage records other hosts' requests by URL). */
function expectCollectorOnly(requests: readonly string[]) {
	expect(requests.filter((r) => !/^(GET|POST|OPTIONS) \//.test(r))).toEqual([]);
}

/** An identify, a track and a page stored, each sent to its own path: no batch. */
function expectSentOneByOne(rows: readonly Row[], requests: readonly string[]) {
	expect(rows.map((row) => row.type)).toEqual(["identify", "page", "track"]);
	for (const path of ["/v1/identify", "/v1/track", "/v1/page"])
		expect(requests).toContain(`POST ${path}`);
	expect(requests).not.toContain("POST /v1/batch");
}

/** An identify, a track and a page stored, sent in batches only. */
function expectSentBatched(rows: readonly Row[], requests: readonly string[]) {
	expect(rows.map((row) => row.type)).toEqual(["identify", "page", "track"]);
	expect(requests).toContain("POST /v1/batch");
	expect(requests).not.toContain("POST /v1/track");
}

const unique = (name: string) =>
	`${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

describe("@segment/analytics-next in Chromium, settings from cdnURL", () => {
	it("delivers track, page, identify, group and alias by the default delivery (/v1/t …)", async () => {
		const { page, requests } = await openPage();
		const userId = unique("next-standard");
		const ids = await page.evaluate(
			async ({ writeKey, cdnURL, userId }) => {
				const { AnalyticsBrowser } = globalThis as unknown as Libraries;
				const [analytics] = await AnalyticsBrowser.load({ writeKey, cdnURL });
				const contexts = [
					await analytics.identify(userId, { plan: "pro" }),
					await analytics.track("Order Completed", { revenue: 12 }),
					await analytics.page("Docs", "Compatibility"),
					await analytics.group("acme", { seats: 5 }),
					await analytics.alias(userId, "previous-anonymous"),
				];
				return contexts.map((ctx) => ctx.event.messageId);
			},
			{ writeKey: DEV_WRITE_KEY, cdnURL: collector.url.origin, userId },
		);
		const rows = await rowsOf(userId, 5);
		expect(rows.map((row) => row.message_id).sort()).toEqual([...ids].sort());
		expect(rows.map((row) => row.type)).toEqual([
			"alias",
			"group",
			"identify",
			"page",
			"track",
		]);
		const library = JSON.parse(rows[0]?.payload ?? "{}").context.library;
		expect(library.name).toBe("analytics.js");
		expect(requests).toContain(`GET /v1/projects/${DEV_WRITE_KEY}/settings`);
		for (const path of ["/v1/t", "/v1/p", "/v1/i", "/v1/g", "/v1/a"])
			expect(requests).toContain(`POST ${path}`);
		// No Segment CDN, API or metrics host.
		expectCollectorOnly(requests);
	}, 30_000);

	it("delivers by the batching strategy (/v1/b)", async () => {
		const { page, requests } = await openPage();
		const userId = unique("next-batching");
		await page.evaluate(
			async ({ writeKey, cdnURL, userId }) => {
				const { AnalyticsBrowser } = globalThis as unknown as Libraries;
				const [analytics] = await AnalyticsBrowser.load(
					{ writeKey, cdnURL },
					{
						integrations: {
							"Segment.io": {
								deliveryStrategy: {
									strategy: "batching",
									config: { size: 3, timeout: 300 },
								},
							},
						},
					},
				);
				await analytics.identify(userId);
				await analytics.track("Batched One");
				await analytics.track("Batched Two");
			},
			{ writeKey: DEV_WRITE_KEY, cdnURL: collector.url.origin, userId },
		);
		const rows = await rowsOf(userId, 3);
		expect(rows).toHaveLength(3);
		expect(requests).toContain("POST /v1/b");
		expect(requests.some((r) => r.startsWith("POST /v1/t"))).toBe(false);
	}, 30_000);
});

describe("rudder-sdk-js v3 in Chromium, config from /sourceConfig/", () => {
	/** `xhr` sends one request per event, `xhr-batch` its `queueOptions.batch` mode. */
	const load = (
		page: Page,
		userId: string,
		mode: "xhr" | "xhr-batch" | "beacon",
	) =>
		page.evaluate(
			async ({ writeKey, collectorUrl, userId, mode }) => {
				const { RudderAnalytics } = globalThis as unknown as Libraries;
				const rudder = new RudderAnalytics();
				const beacon = mode === "beacon";
				await new Promise<void>((resolve) =>
					rudder.load(writeKey, collectorUrl, {
						configUrl: collectorUrl,
						plugins: [beacon ? "BeaconQueue" : "XhrQueue"],
						useBeacon: beacon,
						beaconQueueOptions: { maxItems: 3, flushQueueInterval: 500 },
						queueOptions: {
							batch: {
								enabled: mode === "xhr-batch",
								maxItems: 3,
								flushInterval: 500,
							},
						},
						logLevel: "ERROR",
						onLoaded: () => resolve(),
					}),
				);
				rudder.identify(userId, { plan: "team" });
				rudder.track("Signed Up", { trial: true });
				rudder.page("Docs", "Compatibility");
			},
			{
				writeKey: DEV_WRITE_KEY,
				collectorUrl: collector.url.origin,
				userId,
				mode,
			},
		);

	it("loads its source config and delivers by XHR, one request per event", async () => {
		const { page, requests } = await openPage();
		const userId = unique("rudder-xhr");
		await load(page, userId, "xhr");
		const rows = await rowsOf(userId, 3);
		expectSentOneByOne(rows, requests);
		expect(requests).toContain("GET /sourceConfig/");
		expect(JSON.parse(rows[0]?.payload ?? "{}").context.library.name).toContain(
			"RudderLabs",
		);
	}, 30_000);

	it("delivers by XHR in its batch mode (/v1/batch)", async () => {
		const { page, requests } = await openPage();
		const userId = unique("rudder-xhr-batch");
		await load(page, userId, "xhr-batch");
		expectSentBatched(await rowsOf(userId, 3), requests);
	}, 30_000);

	it("delivers by sendBeacon to /beacon/v1/batch", async () => {
		const { page, requests } = await openPage();
		const userId = unique("rudder-beacon");
		await load(page, userId, "beacon");
		const rows = await rowsOf(userId, 3);
		expect(rows).toHaveLength(3);
		expect(requests).toContain("POST /beacon/v1/batch");
	}, 30_000);
});

/** The methods the Node libraries share with the classic analytics-node API. */
interface ClassicClient {
	identify(message: { userId: string; traits: { plan: string } }): unknown;
	track(message: {
		userId: string;
		event: string;
		properties: { total: number };
	}): unknown;
	page(message: { userId: string; name: string; category: string }): unknown;
	group(message: {
		userId: string;
		groupId: string;
		traits: { seats: number };
	}): unknown;
}

/** An identify, a track, a page and a group of `userId`, as a server would send them. */
function classicCalls(client: ClassicClient, userId: string): void {
	client.identify({ userId, traits: { plan: "team" } });
	client.track({ userId, event: "Invoice Paid", properties: { total: 40 } });
	client.page({ userId, name: "Billing", category: "Account" });
	client.group({ userId, groupId: "acme", traits: { seats: 5 } });
}

describe("@rudderstack/rudder-sdk-node", () => {
	it("delivers its gzip batches (sent as application/x-www-form-urlencoded)", async () => {
		const userId = unique("rudder-node");
		const errors: unknown[] = [];
		const client = new Rudder(DEV_WRITE_KEY, {
			dataPlaneUrl: collector.url.origin,
			flushAt: 10,
			flushInterval: 100,
			logLevel: "error",
			errorHandler: (error) => errors.push(error),
		});
		classicCalls(client, userId);
		client.screen({ userId, name: "Settings" });
		await client.flush();
		expect(errors).toEqual([]);
		const rows = await rowsOf(userId, 5);
		expect(rows.map((row) => row.type)).toEqual([
			"group",
			"identify",
			"page",
			"screen",
			"track",
		]);
	}, 30_000);
});

describe("Hightouch's browser SDK in Chromium, apiHost at the collector", () => {
	const send = (page: Page, userId: string, batching: boolean) =>
		page.evaluate(
			async ({ writeKey, apiHost, userId, batching }) => {
				const { HtEventsBrowser } = globalThis as unknown as Libraries;
				const [htevents] = await HtEventsBrowser.load(
					{ writeKey },
					{ apiHost, protocol: "http", batching },
				);
				const contexts = await Promise.all([
					htevents.identify(userId, { plan: "pro" }),
					htevents.track("Report Viewed", { report: "weekly" }),
					htevents.page("Docs", "Compatibility"),
				]);
				return contexts.map((ctx) => ctx.event.messageId);
			},
			{
				writeKey: DEV_WRITE_KEY,
				apiHost: collector.url.host,
				userId,
				batching,
			},
		);

	it("delivers by its standard delivery (/v1/identify …), JSON with the key in the body", async () => {
		const { page, requests } = await openPage();
		const userId = unique("hightouch-standard");
		const ids = await send(page, userId, false);
		const rows = await rowsOf(userId, 3);
		expect(rows.map((row) => row.message_id).sort()).toEqual([...ids].sort());
		expectSentOneByOne(rows, requests);
		// No Hightouch CDN or API host.
		expectCollectorOnly(requests);
	}, 30_000);

	it("delivers by its batching delivery (/v1/batch)", async () => {
		const { page, requests } = await openPage();
		const userId = unique("hightouch-batching");
		await send(page, userId, true);
		expectSentBatched(await rowsOf(userId, 3), requests);
	}, 30_000);
});

describe("analytics-node 6.x, the package before @segment/analytics-node", () => {
	it("delivers its batches (/v1/batch, Basic auth, batch-level timestamp)", async () => {
		const userId = unique("analytics-node-6");
		const errors: unknown[] = [];
		const client = new LegacyAnalytics(DEV_WRITE_KEY, {
			host: collector.url.origin,
			flushAt: 10,
			flushInterval: 100,
			retryCount: 0,
			errorHandler: (error) => errors.push(error),
		});
		classicCalls(client, userId);
		client.alias({ userId, previousId: `${userId}-before` });
		await client.flush();
		expect(errors).toEqual([]);
		const rows = await rowsOf(userId, 5);
		expect(rows.map((row) => row.type)).toEqual([
			"alias",
			"group",
			"identify",
			"page",
			"track",
		]);
		expect(JSON.parse(rows[0]?.payload ?? "{}").context.library).toMatchObject({
			name: "analytics-node",
			version: expect.stringMatching(/^6\./),
		});
	}, 30_000);
});
