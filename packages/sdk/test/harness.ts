import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import {
	createServer,
	type IncomingMessage,
	type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { ConduitEvent, Options } from "../src/types";
import { applyBatch, type Body } from "./batch";
import { launchChromium } from "./chromium";

/*
 * What the SDK's browser tests share: Debian's Chromium (never a downloaded one), a site server
 * for pages and the built SDK, and a sink that stands in for the collector on another port
 * (so every request is cross-origin, as in production) and reads each body as the collector
 * does (batch.ts). Both are node:http servers: the tests script failures per request and read
 * raw bodies, which a static-server library would hide.
 */

const dist = (file: string) =>
	fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

/** Any page not registered by a test: it exposes the ESM build's createAnalytics. */
const BLANK = `<!doctype html><title>Test</title><script type="module">
import { createAnalytics } from "/sdk.js";
window.createAnalytics = createAnalytics;
</script>`;

/** One request the sink received. */
export interface Received {
	at: number;
	bytes: number;
	contentType: string;
	/** The body as sent: shared context once at the top, `sentAt` only there. */
	raw: Body;
	/** The body as the collector reads it: the batch's context and sentAt in every event. */
	body: Body;
}

/** How the sink answers one request: a status, headers and a JSON body. */
export interface Reply {
	status: number;
	headers?: Record<string, string>;
	body?: unknown;
	/** Drop the connection without an answer (a network error for the page). */
	hangUp?: boolean;
}

/**
 * A stand-in collector: records every POST /v1/batch and answers as the real one does (200
 * `{success, accepted, rejected}`), unless a test queued other replies or set `down`.
 */
export interface Sink {
	url: string;
	requests: Received[];
	/** When each request with the test's write key arrived, whatever the answer. */
	attempts: number[];
	preflights: number;
	/** Replies for the next requests, in order; afterwards 200. */
	replies: (Reply | ((body: Received["body"]) => Reply))[];
	/** While true, every request is dropped unread, as if the collector were unreachable. */
	down: boolean;
	/**
	 * Only requests with this write key are recorded: each test uses its own, so a page of an
	 * earlier test that delivers late (a closing tab's keepalive) cannot leak into the next.
	 */
	writeKey: string;
	events(): ConduitEvent[];
	/** Resolves once `count` events have arrived; rejects after `ms`. */
	waitForEvents(count: number, ms?: number): Promise<ConduitEvent[]>;
	reset(): void;
}

/**
 * The site: any path is an empty page exposing `window.createAnalytics`, `/sdk.js` the built ESM package bundled with its two
 * dependencies (as an app's bundler would), `/conduit.js` the script-tag build; tests add pages.
 */
export interface Site {
	url: string;
	pages: Map<string, string>;
	/** Milliseconds to hold back /conduit.js, to let a page call the snippet before it loads. */
	scriptDelay: number;
}

/**
 * Starts the site and the sink on free loopback ports; `close` stops both.
 *
 * @example
 * const { site, sink, close } = await startServers();
 */
export async function startServers(): Promise<{
	site: Site;
	sink: Sink;
	close(): Promise<void>;
}> {
	const esm = await build({
		entryPoints: [dist("index.js")],
		bundle: true,
		format: "esm",
		write: false,
	});
	const sdkModule = esm.outputFiles[0]?.text ?? "";
	const script = readFileSync(dist("conduit.js"), "utf8");

	const site: Site = { url: "", pages: new Map(), scriptDelay: 0 };
	const siteServer = createServer((req, res) => {
		const path = (req.url ?? "/").split("?")[0] ?? "/";
		const send = (type: string, text: string) =>
			res.writeHead(200, { "content-type": type }).end(text);
		if (path === "/sdk.js") return send("text/javascript", sdkModule);
		if (path === "/conduit.js") {
			setTimeout(() => send("text/javascript", script), site.scriptDelay);
			return;
		}
		send("text/html", site.pages.get(path) ?? BLANK);
	});

	const emitter = new EventEmitter();
	let tests = 0;
	const sink: Sink = {
		url: "",
		requests: [],
		attempts: [],
		preflights: 0,
		replies: [],
		down: false,
		writeKey: "",
		events: () => sink.requests.flatMap((r) => r.body.batch),
		waitForEvents(count, ms = 5000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const events = sink.events();
					if (events.length < count) return;
					cleanup();
					resolve(events);
				};
				const timer = setTimeout(() => {
					cleanup();
					reject(
						new Error(
							`sink has ${sink.events().length} events after ${ms} ms; expected ${count}`,
						),
					);
				}, ms);
				const cleanup = () => {
					clearTimeout(timer);
					emitter.off("request", check);
				};
				emitter.on("request", check);
				check();
			});
		},
		reset() {
			sink.writeKey = `wk_test_${++tests}`;
			sink.requests = [];
			sink.attempts = [];
			sink.replies = [];
			sink.preflights = 0;
			sink.down = false;
		},
	};
	const sinkServer = createServer(
		async (req: IncomingMessage, res: ServerResponse) => {
			const cors = {
				"access-control-allow-origin": req.headers.origin ?? "*",
				"access-control-expose-headers": "Retry-After",
				// A fresh connection per request: Chromium silently resends a request whose reused
				// connection is reset, which would hide the SDK's own retry timing from the tests.
				connection: "close",
			};
			if (req.method === "OPTIONS") {
				sink.preflights++;
				return res.writeHead(204, cors).end();
			}
			if (sink.down) return req.socket.destroy();
			const chunks: Buffer[] = [];
			for await (const chunk of req) chunks.push(chunk as Buffer);
			const bytes = Buffer.concat(chunks);
			const raw: Body = JSON.parse(bytes.toString("utf8"));
			const received: Received = {
				at: Date.now(),
				bytes: bytes.byteLength,
				contentType: req.headers["content-type"] ?? "",
				raw,
				body: applyBatch(raw),
			};
			if (received.body.writeKey !== sink.writeKey) {
				res.writeHead(401, cors).end();
				return;
			}
			sink.attempts.push(received.at);
			const next = sink.replies.shift();
			const reply = typeof next === "function" ? next(received.body) : next;
			if (reply?.hangUp) {
				req.socket.destroy();
				emitter.emit("request");
				return;
			}
			// Only what the collector accepted counts as received, as in D1.
			if (!reply || reply.status === 200) sink.requests.push(received);
			const status = reply?.status ?? 200;
			const body = reply?.body ?? {
				success: true,
				accepted: received.body.batch.length,
				rejected: [],
			};
			res
				.writeHead(status, {
					...cors,
					"content-type": "application/json",
					...reply?.headers,
				})
				.end(JSON.stringify(body));
			emitter.emit("request");
		},
	);

	const listen = (server: ReturnType<typeof createServer>) =>
		new Promise<string>((resolve) =>
			server.listen(0, "127.0.0.1", () =>
				resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
			),
		);
	site.url = await listen(siteServer);
	sink.url = await listen(sinkServer);
	return {
		site,
		sink,
		close: async () => {
			siteServer.closeAllConnections();
			sinkServer.closeAllConnections();
			await Promise.all(
				[siteServer, sinkServer].map(
					(server) => new Promise((resolve) => server.close(resolve)),
				),
			);
		},
	};
}

/** What a test page records: onError reports and uncaught page errors. */
export interface PageLog {
	errors: { code: string; count: number }[];
}

/**
 * Loads `path` on the site and creates the SDK there as `window.a` (from the ESM build), with
 * an onError that records into `window.log.errors`.
 *
 * @example
 * await createOnPage(page, site, { writeKey: "wk", endpoint: sink.url, flushAt: 1 });
 * await page.evaluate(() => window.a.track("Clicked"));
 */
export async function createOnPage(
	page: Page,
	site: Site,
	options: Omit<Options, "onError">,
	path = "/",
): Promise<void> {
	if (page.url() === "about:blank") await page.goto(site.url + path);
	await page.waitForFunction(() => "createAnalytics" in window);
	await page.evaluate((options) => {
		const log: PageLog = { errors: [] };
		Object.assign(window, {
			log,
			a: window.createAnalytics({
				...options,
				onError: (error: { code: string; count: number }) =>
					log.errors.push({ code: error.code, count: error.count }),
			}),
		});
	}, options);
}

/**
 * Records, for each fetch() the pages of `context` make, whether it asked for keepalive; read
 * the flags with {@link keepaliveFlags}. Call it before the page loads.
 *
 * @example
 * await watchKeepalive(context); … expect(await keepaliveFlags(page)).toEqual([true]);
 */
export async function watchKeepalive(context: BrowserContext): Promise<void> {
	await context.addInitScript(() => {
		const original = window.fetch;
		const seen: boolean[] = [];
		Object.assign(window, { keepalive: seen });
		window.fetch = (input, init) => {
			seen.push(init?.keepalive === true);
			return original(input, init);
		};
	});
}

/**
 * The keepalive flag of each fetch() the page made, in order (see {@link watchKeepalive}).
 *
 * @example
 * expect((await keepaliveFlags(page)).every(Boolean)).toBe(true);
 */
export function keepaliveFlags(page: Page): Promise<boolean[]> {
	return page.evaluate(
		() => (window as unknown as { keepalive: boolean[] }).keepalive,
	);
}

/**
 * Counts the events IndexedDB holds for the SDK (0 when the database does not exist).
 *
 * @example
 * expect(await storedEvents(page)).toBe(0);
 */
export function storedEvents(page: Page): Promise<number> {
	return page.evaluate(async () => {
		const names = (await indexedDB.databases()).map((d) => d.name);
		if (!names.includes("conduit:v1")) return 0;
		const db = await new Promise<IDBDatabase>((resolve, reject) => {
			const request = indexedDB.open("conduit:v1");
			request.onsuccess = () => resolve(request.result);
			request.onerror = () => reject(request.error);
		});
		// A record holds the JSON text of several events (or, as 0.1.0 wrote it, one event).
		const count = await new Promise<number>((resolve, reject) => {
			const request = db.transaction("events").objectStore("events").getAll();
			request.onsuccess = () =>
				resolve(
					request.result.reduce(
						(n: number, value: unknown) =>
							n + (typeof value === "string" ? JSON.parse(value).length : 1),
						0,
					),
				);
			request.onerror = () => reject(request.error);
		});
		db.close();
		return count;
	});
}

/** The page globals the tests use. */
declare global {
	interface Window {
		a: import("../src/types").Analytics;
		log: PageLog;
		conduit: unknown;
		createAnalytics: typeof import("../src/index").createAnalytics;
	}
}

/** What {@link useBrowser} gives each test: a fresh context and page, and the shared servers. */
export interface World {
	browser: Browser;
	site: Site;
	sink: Sink;
	context: BrowserContext;
	page: Page;
}

/**
 * Registers the hooks of a browser test file: one Chromium and one pair of servers for the
 * file, a new context (empty cookies, storage and IndexedDB) and a reset sink for each test.
 *
 * @example
 * const world = useBrowser();
 * it("…", async () => { await createOnPage(world.page, world.site, { … }); });
 */
export function useBrowser(extraArgs: string[] = []): World {
	const world = {} as World;
	let close: (() => Promise<void>) | undefined;
	beforeAll(async () => {
		const [browser, servers] = await Promise.all([
			launchChromium(extraArgs),
			startServers(),
		]);
		Object.assign(world, { browser, site: servers.site, sink: servers.sink });
		close = servers.close;
	});
	afterAll(async () => {
		await world.browser?.close();
		await close?.();
	});
	beforeEach(async () => {
		await world.context?.close();
		world.sink.reset();
		world.site.scriptDelay = 0;
		world.context = await world.browser.newContext();
		world.page = await world.context.newPage();
	});
	return world;
}
