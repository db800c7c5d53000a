// `npm run bench:sdk`: Conduit, Segment's analytics-next and RudderStack's v3 SDK side by side
// in one Debian Chromium, each pointed at a local sink. For each library it measures:
// - start-up: synchronous main-thread time of the creation call on a fresh page (new browser
//   context, so a new renderer process), median of STARTS pages;
// - offline replay: events tracked while the sink was unreachable, page closed, sink back, page
//   reopened: ms from the creation call to the last of those events at the sink;
// - 1,000 track() calls in one synchronous loop: each call's cost, and Chromium's main-thread
//   busy time (Performance.getMetrics TaskDuration) from the first call until the sink had all
//   of them, median of REPS runs; plus requests, bytes and time to the sink;
// - the script-tag and app-bundle sizes.
// Conduit's targets are printed beside its figures. Everything stays on 127.0.0.1: Chromium's
// proxy is a local server that refuses (and counts) any request for another host. Every wait
// is bounded, so the run ends by itself.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build, type OutputFile, transform } from "esbuild";
import { CHROME_FLAGS } from "../packages/sdk/test/chromium.ts";
import {
	type Chromium,
	disposeContext,
	launch,
	openTab,
	type Tab,
} from "./cdp.ts";

const EVENTS = 1000;
const OFFLINE_EVENTS = 10;
const STARTS = Number(process.env.BENCH_STARTS) || 7;
const REPS = Number(process.env.BENCH_REPS) || 3;
const WAIT_MS = 60_000;
const REPLAY_WAIT_MS = 15_000;
const TARGETS = { startupMs: 5, replayMs: 500, busyMs: 200 };
const LIBRARIES = [
	{ name: "Conduit", adapter: "conduit", path: "/conduit/" },
	{ name: "Segment analytics-next", adapter: "segment", path: "/segment/" },
	{ name: "RudderStack v3", adapter: "rudderstack", path: "/rudderstack/" },
] as const;
type Library = (typeof LIBRARIES)[number];
/** BENCH_LIBRARIES=conduit,segment runs only those adapters (all three by default). */
const chosen = process.env.BENCH_LIBRARIES?.split(",");

const sizes = (bytes: Uint8Array) => ({
	raw: bytes.length,
	gzip: gzipSync(bytes, { level: 9 }).length,
	brotli: brotliCompressSync(bytes, {
		params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
	}).length,
});
const modules = new URL("../node_modules/", import.meta.url);
const median = (values: number[]) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};
const quantile = (sorted: number[], q: number) =>
	sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ??
	Number.NaN;

/**
 * The script-tag builds: Conduit's dist/conduit.js; analytics-next's standalone build as its npm
 * package ships it (its lazy chunks come later, from the same folder); RudderStack's v3 core UMD
 * from its npm package, minified here with esbuild as its CDN copy is (plugins load separately).
 */
async function scriptTagBuilds() {
	const read = (path: string) => readFileSync(new URL(path, modules));
	const rudder = await transform(
		read("@rudderstack/analytics-js/dist/npm/modern/umd/index.js").toString(),
		{ minify: true, logLevel: "error" },
	);
	return [
		[
			"Conduit",
			readFileSync(new URL("../packages/sdk/dist/conduit.js", import.meta.url)),
		],
		[
			"Segment analytics-next",
			read("@segment/analytics-next/dist/umd/standalone.js"),
		],
		["RudderStack v3", new TextEncoder().encode(rudder.code)],
	].map(([name, bytes]) => ({
		name: name as string,
		...sizes(bytes as Uint8Array),
	}));
}

/** Each adapter bundled as an app would ship it: minified ESM, lazy chunks split off. */
async function bundle(adapter: string) {
	const result = await build({
		entryPoints: {
			[adapter]: new URL(`adapters/${adapter}.ts`, import.meta.url).pathname,
		},
		bundle: true,
		minify: true,
		format: "esm",
		splitting: true,
		target: "es2022",
		outdir: `/${adapter}`,
		write: false,
		metafile: true,
		// Not bench/adapters/tsconfig.json: its `paths` point type-checking at the SDK's source,
		// while the benchmark measures the package as built (node_modules/@conduit/sdk → dist).
		tsconfigRaw: "{}",
		logLevel: "error",
	});
	const files = new Map(
		result.outputFiles.map((f: OutputFile) => [
			f.path.slice(`/${adapter}`.length),
			f.contents,
		]),
	);
	const entry = files.get(`/${adapter}.js`) as Uint8Array;
	const all = [...files.values()].reduce((sum, f) => sum + sizes(f).brotli, 0);
	return { files, initial: sizes(entry), allBrotli: all };
}

/** One request the sink took in: when, how big, and each event's messageId and `run` tag. */
interface Received {
	at: number;
	bytes: number;
	path: string;
	events: { id: string; run: string }[];
}

const received: Received[] = [];
let waiters: (() => void)[] = [];
/** Paths under which the sink is unreachable: it drops the connection unread. */
const down = new Set<string>();
const readBody = async (req: IncomingMessage) => {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
};
// The sink: records every request and the events in it (a `batch` array, or one event).
const sink = createServer(async (req, res) => {
	const path = req.url ?? "";
	if ([...down].some((p) => path.startsWith(p))) return req.socket.destroy();
	// Each library sends headers of its own (RudderStack: AnonymousId, Authorization, SentAt and
	// its RSA-Retry-* ones): the preflight allows whatever it asks for, as a real collector would.
	const cors = {
		"access-control-allow-origin": req.headers.origin ?? "*",
		"access-control-allow-headers":
			req.headers["access-control-request-headers"] ?? "content-type",
		"access-control-allow-credentials": "true",
	};
	if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
	const body = await readBody(req);
	let events: { messageId?: string; properties?: { run?: string } }[] = [];
	try {
		const json = JSON.parse(body.toString("utf8"));
		events = Array.isArray(json.batch) ? json.batch : json.type ? [json] : [];
	} catch {
		// Not JSON (a metrics ping, say): counted as a request without events.
	}
	received.push({
		at: Date.now(),
		bytes: body.length,
		path,
		events: events.map((e) => ({
			id: e.messageId ?? "",
			run: e.properties?.run ?? "",
		})),
	});
	res.writeHead(200, { ...cors, "content-type": "application/json" });
	res.end(
		JSON.stringify({ success: true, accepted: events.length, rejected: [] }),
	);
	for (const wake of waiters) wake();
});

// The page server: cross-origin isolated, so performance.now() ticks in 5 µs, not 100 µs.
let current: Map<string, Uint8Array> = new Map();
const PAGE = "<!doctype html><title>bench</title>";
const site = createServer((req, res) => {
	const isolation = {
		"cross-origin-opener-policy": "same-origin",
		"cross-origin-embedder-policy": "require-corp",
	};
	const path = (req.url ?? "/").split("?")[0] ?? "/";
	const file = current.get(path);
	if (path === "/")
		return res
			.writeHead(200, { ...isolation, "content-type": "text/html" })
			.end(PAGE);
	if (!file) return res.writeHead(404).end();
	res
		.writeHead(200, { ...isolation, "content-type": "text/javascript" })
		.end(file);
});

// Chromium's proxy for every host but loopback (which it never proxies): refuses and counts.
const outside: string[] = [];
const proxy = createServer((req, res) => {
	outside.push(req.url ?? "");
	res.writeHead(403).end();
});
proxy.on("connect", (req, socket) => {
	outside.push(`https://${req.url}`);
	socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
});

const listen = async (server: ReturnType<typeof createServer>) => {
	server.listen(0, "127.0.0.1");
	await once(server, "listening");
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const sinkUrl = await listen(sink);
const siteUrl = await listen(site);
const proxyUrl = await listen(proxy);
// Playwright's launch switches that bear on timing or on background traffic: without them, a
// page the benchmark opens over DevTools has its timers throttled like a hidden tab's.
const chromium: Chromium = await launch([
	...CHROME_FLAGS,
	"--disable-background-timer-throttling",
	"--disable-backgrounding-occluded-windows",
	"--disable-renderer-backgrounding",
	"--disable-ipc-flooding-protection",
	"--disable-hang-monitor",
	"--disable-back-forward-cache",
	"--disable-field-trial-config",
	"--disable-default-apps",
	"--disable-extensions",
	"--no-default-browser-check",
	"--metrics-recording-only",
	"--password-store=basic",
	"--disable-features=OptimizationHints,NetworkTimeServiceQuerying,PreconnectToSearch,MediaRouter,AimEnabled",
	`--proxy-server=${proxyUrl}`,
]);

/** Waits until `done()` or `ms` have passed, waking on every request the sink takes. */
async function until(done: () => boolean, ms: number) {
	const started = Date.now();
	while (!done() && Date.now() - started < ms)
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, 250);
			waiters.push(() => {
				clearTimeout(timer);
				resolve();
			});
		});
	waiters = [];
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The distinct events tagged `run` the sink took, each with the time it first arrived. */
const arrived = (run: string) => {
	const first = new Map<string, number>();
	for (const r of received)
		for (const e of r.events)
			if (e.run === run && !first.has(e.id)) first.set(e.id, r.at);
	return first;
};

/** A page of a fresh (or the given) context with the library's adapter module loaded. */
async function pageWith(library: Library, context?: string): Promise<Tab> {
	const tab = await openTab(chromium, context);
	await tab.goto(`${siteUrl}/`);
	await tab.evaluate(
		`import("/${library.adapter}.js").then((m) => { window.adapter = m; })`,
	);
	return tab;
}
const setup = JSON.stringify({
	sink: sinkUrl,
	writeKey: "wk_bench_0123456789",
});

/** Synchronous ms of the creation call, each on a fresh page; the module is loaded before. */
async function startup(library: Library): Promise<number[]> {
	const samples: number[] = [];
	for (let i = 0; i < STARTS; i++) {
		const tab = await pageWith(library);
		samples.push(
			await tab.evaluate<number>(`(async () => {
				const t0 = performance.now();
				const created = window.adapter.create(${setup});
				const ms = performance.now() - t0;
				await created.ready;
				return ms;
			})()`),
		);
		await disposeContext(chromium, tab.context);
	}
	return samples;
}

/** Ms from the creation call on a reopened page until the events kept offline all arrived. */
async function offlineReplay(library: Library): Promise<number | undefined> {
	const run = `${library.adapter}-offline`;
	down.add(library.path);
	const tab = await pageWith(library);
	await tab.evaluate(`(async () => {
		const track = await window.adapter.create(${setup}).ready;
		for (let i = 0; i < ${OFFLINE_EVENTS}; i++) track("Offline", { run: "${run}", i });
	})()`);
	// Each library tries, fails and keeps what it keeps; the page closes while the sink is down.
	await sleep(3000);
	await tab.close();
	await sleep(500);
	down.delete(library.path);
	const again = await pageWith(library, tab.context);
	const createdAt = await again.evaluate<number>(`(() => {
		const at = performance.timeOrigin + performance.now();
		window.adapter.create(${setup});
		return at;
	})()`);
	await until(() => arrived(run).size >= OFFLINE_EVENTS, REPLAY_WAIT_MS);
	const times = [...arrived(run).values()];
	await disposeContext(chromium, tab.context);
	if (times.length < OFFLINE_EVENTS) return undefined;
	return Math.max(...times) - createdAt;
}

/** 1,000 track() calls in one loop: per-call µs, busy ms until all arrived, and delivery. */
async function throughput(library: Library, rep: number) {
	const run = `${library.adapter}-${rep}`;
	const tab = await pageWith(library);
	const isolated = await tab.evaluate<boolean>(`(async () => {
		window.track = await window.adapter.create(${setup}).ready;
		return crossOriginIsolated;
	})()`);
	const before = received.length;
	const busyBefore = await tab.busy();
	const startedAt = Date.now();
	const samples = await tab.evaluate<number[]>(`(() => {
		const costs = [];
		for (let i = 0; i < ${EVENTS}; i++) {
			const t0 = performance.now();
			window.track("Product Viewed", { run: "${run}", i, sku: "SKU-" + (i % 50), price: 9.5, currency: "EUR" });
			costs.push(performance.now() - t0);
		}
		return costs;
	})()`);
	await until(() => arrived(run).size >= EVENTS, WAIT_MS);
	const busyAfter = await tab.busy();
	const busy = busyAfter.busy - busyBefore.busy;
	const cpu = busyAfter.cpu - busyBefore.cpu;
	const requests = received
		.slice(before)
		.filter((r) => r.path.startsWith(library.path));
	const times = [...arrived(run).values()];
	await disposeContext(chromium, tab.context);
	return {
		samples: samples.map((ms) => ms * 1000),
		busyPer1000: (busy * 1000) / EVENTS,
		cpuPer1000: (cpu * 1000) / EVENTS,
		requests: requests.length,
		bytes: requests.reduce((n, r) => n + r.bytes, 0),
		delivered: times.length,
		seconds:
			((times.length ? Math.max(...times) : Date.now()) - startedAt) / 1000,
		isolated,
	};
}

const ms = (n: number | undefined) =>
	n === undefined ? `not within ${REPLAY_WAIT_MS / 1000} s` : `${n.toFixed(1)}`;
// Progress goes to stderr, the tables to stdout.
const rows = [];
for (const library of LIBRARIES) {
	if (chosen && !chosen.includes(library.adapter)) continue;
	const { files, initial, allBrotli } = await bundle(library.adapter);
	current = files;
	const starts = await startup(library);
	console.error(
		`${library.name}: start-up ${starts.map((n) => n.toFixed(1)).join(", ")} ms`,
	);
	const replay = await offlineReplay(library);
	console.error(`${library.name}: offline replay ${ms(replay)} ms`);
	const runs = [];
	for (let rep = 0; rep < REPS; rep++) {
		runs.push(await throughput(library, rep));
		console.error(
			`${library.name}: run ${rep + 1}, busy ${runs.at(-1)?.busyPer1000.toFixed(0)} ms (CPU ${runs.at(-1)?.cpuPer1000.toFixed(0)} ms) per 1,000 events`,
		);
	}
	const sorted = runs.flatMap((r) => r.samples).sort((a, b) => a - b);
	const first = runs[0];
	rows.push({
		library: library.name,
		initial,
		allBrotli,
		startup: median(starts),
		startups: starts,
		replay,
		busy: median(runs.map((r) => r.busyPer1000)),
		busies: runs.map((r) => r.busyPer1000),
		cpu: median(runs.map((r) => r.cpuPer1000)),
		median: quantile(sorted, 0.5),
		p95: quantile(sorted, 0.95),
		mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
		requests: first?.requests ?? 0,
		bytes: first?.bytes ?? 0,
		delivered: Math.min(...runs.map((r) => r.delivered)),
		seconds: median(runs.map((r) => r.seconds)),
		isolated: runs.every((r) => r.isolated),
	});
}
await chromium.close();
sink.close();
site.close();
proxy.close();

const scripts = await scriptTagBuilds();
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const us = (n: number) => `${n.toFixed(1)}`;
console.log(`\nScript-tag builds (what a page loads first):\n`);
console.log("| library | raw | gzip | brotli |");
console.log("| --- | ---: | ---: | ---: |");
for (const r of scripts)
	console.log(
		`| ${r.name} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} (${r.brotli} B) |`,
	);

console.log(
	`\nStart-up, offline replay and main-thread cost, ${chromium.version}: start-up is the creation call's synchronous time on a fresh page (median of ${STARTS}); offline replay is ${OFFLINE_EVENTS} events tracked while the sink was unreachable, the page closed and reopened, ms from the creation call until the last arrived; busy is Chromium's main-thread TaskDuration from the first of ${EVENTS} track() calls until the sink had them all (median of ${REPS} runs), and CPU the main thread's CPU time (ThreadTime) over the same span, which a loaded machine inflates less. Load average (1 min) at the end: ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores.\n`,
);
console.log(
	"| library | start-up sync ms | offline replay ms after creation | busy ms per 1,000 events | main-thread CPU ms per 1,000 events |",
);
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows)
	console.log(
		`| ${r.library} | ${r.startup.toFixed(1)} | ${ms(r.replay)} | ${r.busy.toFixed(0)} | ${r.cpu.toFixed(0)} |`,
	);
console.log(
	`| Conduit's target | ≤ ${TARGETS.startupMs} | ≤ ${TARGETS.replayMs} | ≤ ${TARGETS.busyMs} | |`,
);
const [conduit, ...others] = rows;
if (conduit) {
	const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
	console.log(
		`\nConduit: start-up ${conduit.startup.toFixed(1)} ms (${verdict(conduit.startup <= TARGETS.startupMs)}; samples ${conduit.startups.map((n) => n.toFixed(1)).join(", ")}), offline replay ${ms(conduit.replay)} ms (${verdict(conduit.replay !== undefined && conduit.replay <= TARGETS.replayMs)}), busy ${conduit.busy.toFixed(0)} ms per 1,000 events (${verdict(conduit.busy <= TARGETS.busyMs)}; runs ${conduit.busies.map((n) => n.toFixed(0)).join(", ")}).`,
	);
}

console.log(
	`\n${EVENTS} track() calls per library in one synchronous loop, batches of 20 / 2 s for all three; bundles are each adapter built by esbuild (minified ESM, lazy chunks split off); requests and bytes are the first run's.\n`,
);
console.log(
	"| library | app bundle raw | gzip | brotli | brotli incl. lazy chunks | track() median µs | p95 µs | mean µs | requests | bytes sent | delivered | time to sink |",
);
console.log(
	"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
);
for (const r of rows)
	console.log(
		`| ${r.library} | ${kb(r.initial.raw)} | ${kb(r.initial.gzip)} | ${kb(r.initial.brotli)} | ${kb(r.allBrotli)} | ${us(r.median)} | ${us(r.p95)} | ${us(r.mean)} | ${r.requests} | ${kb(r.bytes)} | ${r.delivered}/${EVENTS} | ${r.seconds.toFixed(2)} s |`,
	);
const [ours, ...theirs] = scripts;
if (conduit && ours) {
	const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
	const smallestScript = Math.min(...theirs.map((r) => r.brotli));
	const smallestBundle = Math.min(...others.map((r) => r.initial.brotli));
	const cheapest = Math.min(...others.map((r) => r.median));
	console.log(
		`\nConduit vs the smaller rival, brotli: script tag ${pct(ours.brotli, smallestScript)}, app bundle ${pct(conduit.initial.brotli, smallestBundle)} (target ≤ 20%). Median track(): ${pct(conduit.median, cheapest)} of the cheaper rival's (target ≤ 25%; 5 µs is the clock's resolution). Delivered ${conduit.delivered}/${EVENTS}.`,
	);
}
console.log(
	outside.length
		? `Requests refused because they left 127.0.0.1: ${outside.length} (${[...new Set(outside)].slice(0, 5).join(", ")})`
		: "No library tried to reach anything but 127.0.0.1.",
);
if (rows.some((r) => !r.isolated))
	console.log(
		"Warning: a page was not cross-origin isolated; timings are coarsened to 100 µs.",
	);
