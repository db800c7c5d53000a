/**
 * Audiences benchmark: `npm run bench:audiences`.
 *
 * Runs the collector Worker locally in workerd (wrangler's test harness: real local D1, KV and
 * Queues) and, in one run:
 *
 * 1. Throughput: hands the fixture events to the Worker's real EVENTS queue handler in batches
 *    of 100, alternating a config with no audiences and one with 10 computed traits and 20
 *    audiences (same people, new messageIds each pass, after a warm-up pass of each), and
 *    compares events/s. D1 round trips per batch are what the consumer's log line reports for
 *    the identity and audiences stages (storing and finishing cost the same in both).
 * 2. Latency, event-driven: new people each send one `Order Completed` through POST /v1/batch;
 *    an audience "ordered at least once" enters on it. Time from the POST's answer to a local
 *    webhook receiving `Audience Entered` (ingest → consumer → activation events → consumer →
 *    delivery).
 * 3. Latency, time-driven: new people add to a cart so that their hour without an order ends at
 *    moments spread over one minute; the minute cron then runs once, at the minute's end, as
 *    the `* * * * *` trigger would. Time from the moment each condition became true to the
 *    webhook receiving `Audience Entered` (at most a minute of waiting for the cron, plus the
 *    pipeline).
 *
 * Bounded: every wait gives up after 60 s.
 */

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createTestHarness } from "wrangler";
import { percentile } from "./stats.ts";

process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(ROOT, "test/fixtures/events.ndjson");
const BATCH = 100;
const PASSES = 3; // measured passes per config, alternating
const QUEUE = "conduit-events";
const WRITE_KEY = "wk_bench_web_0123456789";
const LATENCY_PEOPLE = 40;
const MINUTE = 60_000;
const H = 3_600_000;

type Json = Record<string, unknown>;
interface QueueHandler {
	queue(queue: string, messages: unknown[]): Promise<{ ackAll: boolean }>;
	scheduled(options: { scheduledTime: Date; cron: string }): Promise<unknown>;
}
interface BenchEnv {
	CONFIG: { put(key: string, value: string): Promise<void> };
}

const fixture: Json[] = readFileSync(FIXTURE, "utf8")
	.split("\n")
	.filter((line) => line.trim() !== "")
	.map((line) => JSON.parse(line));

/** Consent that grants everything: the webhook requires none, and the events carry it. */
const grant = {
	consent: {
		categoryPreferences: { necessary: true, analytics: true, marketing: true },
	},
};

/** The local webhook: when each `Audience Entered` arrived, by "anonymousId audience_key". */
const arrivals = new Map<string, number>();
const hook = createServer((request, response) => {
	let body = "";
	request.on("data", (chunk) => {
		body += chunk;
	});
	request.on("end", () => {
		const at = Date.now();
		try {
			const events =
				(JSON.parse(body) as { data?: { events?: Json[] } }).data?.events ?? [];
			for (const e of events)
				if (e.event === "Audience Entered")
					arrivals.set(
						`${e.anonymousId} ${(e.properties as Json | undefined)?.audience_key}`,
						at,
					);
		} catch {
			// Not JSON: still answered 200, the benchmark only counts entries.
		}
		response.writeHead(200, { "content-type": "application/json" }).end("{}");
	});
});
await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
const hookPort = (hook.address() as { port: number }).port;

const sources = [
	{ id: "web", writeKey: WRITE_KEY, rateLimit: false },
	{
		id: "audiences",
		writeKey: "wk_bench_audiences_01234",
		trust: "server",
		rateLimit: false,
	},
];
const none = { version: 1, sources, destinations: [] };

/**
 * 10 computed traits and 20 audiences over the fixture's events, traits and consent; `sendTo`
 * names the destinations of the "ordered" audience (which destinations an audience syncs to is
 * not part of its definition, so setting them holds nothing for a backfill).
 */
function heavy(destinations: Json[] = [], sendTo?: string[]) {
	const traits = [
		{
			key: "ltv",
			event: "Order Completed",
			aggregate: "sum",
			property: ["properties.revenue", "properties.total"],
		},
		{ key: "orders", event: "Order Completed", aggregate: "count" },
		{
			key: "biggest_order",
			event: "Order Completed",
			aggregate: "max",
			property: "properties.total",
		},
		{
			key: "smallest_order",
			event: "Order Completed",
			aggregate: "min",
			property: "properties.total",
		},
		{
			key: "first_product",
			event: "Product Viewed",
			aggregate: "first",
			property: "properties.product_id",
		},
		{
			key: "last_product",
			event: "Product Viewed",
			aggregate: "last",
			property: "properties.product_id",
		},
		{
			key: "categories",
			event: "Product Viewed",
			aggregate: "unique",
			property: "properties.category",
		},
		{
			key: "top_category",
			event: "Product Viewed",
			aggregate: "mostFrequent",
			property: "properties.category",
		},
		{
			key: "views_24h",
			event: "Product Viewed",
			aggregate: "count",
			window: "24h",
		},
		{
			key: "adds_30d",
			event: "Product Added",
			aggregate: "count",
			window: "30d",
		},
	];
	const audiences: Json[] = [];
	const categories = ["Books", "Toys", "Games", "Garden", "Music"];
	for (const [i, category] of categories.entries()) {
		audiences.push({
			key: `likes_${i}`,
			name: `Likes ${category}`,
			where: [{ path: "computed.top_category", op: "eq", value: category }],
		});
		audiences.push({
			key: `viewed_${i}`,
			name: `Viewed ${category} in 7 d`,
			where: [
				{
					event: "Product Viewed",
					where: [{ path: "properties.category", op: "eq", value: category }],
					within: "7d",
				},
			],
		});
	}
	// Single conditions on a computed trait, a trait or consent: key, name, path, op, value.
	const conditions: [string, string, string, string, unknown][] = [
		["spent_50", "Spent 50", "computed.ltv", "gte", 50],
		["ordered", "Ordered", "computed.orders", "gte", 1],
		["big_basket", "Big basket", "computed.biggest_order", "gte", 100],
		["pro_plan", "Pro plan", "traits.plan", "eq", "pro"],
		["marketable", "Marketable", "consent.marketing", "eq", true],
		["browsers", "Browsers", "computed.views_24h", "gte", 1],
		["wide_taste", "Wide taste", "computed.categories", "gte", 2],
		["carted", "Carted", "computed.adds_30d", "gte", 1],
	];
	for (const [key, name, path, op, value] of conditions)
		audiences.push({
			key,
			name,
			where: [{ path, op, value }],
			...(key === "ordered" && sendTo && { destinations: sendTo }),
		});
	audiences.push(
		{
			key: "cart_abandoners",
			name: "Cart abandoners",
			where: [
				{
					trigger: {
						event: "Product Added",
						thenNot: "Order Completed",
						within: "1h",
						exitAfter: "7d",
					},
				},
			],
		},
		{
			key: "engaged_no_order",
			name: "Engaged, no order",
			where: [
				{ path: "computed.views_24h", op: "gte", value: 1 },
				{ not: { path: "computed.orders", op: "gte", value: 1 } },
			],
		},
	);
	return {
		version: 1,
		allowPrivateNetwork: true,
		sources,
		destinations,
		audiences: {
			source: "audiences",
			computedTraits: traits,
			definitions: audiences,
		},
	};
}

const options = {
	root: ROOT,
	workers: [
		{
			configPath: "./wrangler.toml",
			// Plain string bindings: the admin token, and a config read on every batch so the
			// phases can switch it.
			secrets: {
				ADMIN_TOKEN: "bench-admin-token-0123456789abcdef",
				CONFIG_CACHE_SECONDS: "0",
			},
		},
	],
};
const server = createTestHarness(options);
try {
	const { url } = await server.listen();
	const worker = server.getWorker();
	await worker.applyD1Migrations("DB");
	const env = (await worker.getEnv()) as BenchEnv;
	const handler = (await worker.getExport()) as unknown as QueueHandler;
	const useConfig = (config: unknown) =>
		env.CONFIG.put("config", JSON.stringify(config));

	// 1. Throughput, after a warm-up pass of each config over the same people.
	const phases: Record<"none" | "audiences", Phase[]> = {
		none: [],
		audiences: [],
	};
	await useConfig(heavy());
	await pass(handler, "warm-a");
	await useConfig(none);
	await pass(handler, "warm-n");
	await quiet();
	for (let p = 0; p < PASSES; p++) {
		await useConfig(none);
		phases.none.push(await pass(handler, `n${p}`));
		await useConfig(heavy());
		phases.audiences.push(await pass(handler, `a${p}`));
	}

	// 2 and 3. Latency to a webhook.
	const destination = {
		id: "hook",
		type: "webhook",
		settings: { url: `http://127.0.0.1:${hookPort}/in` },
	};
	// The same definitions as the throughput phase: a new one would be held until its backfill
	// (docs/audiences.md), which waits for late events first.
	await useConfig(heavy([destination], ["hook"]));
	const eventDriven = await eventLatency(url);
	const timeDriven = await timeLatency(url, handler);
	report(phases, eventDriven, timeDriven);
} finally {
	await server.close();
	hook.close();
}

interface Phase {
	events: number;
	batches: number;
	ms: number;
	identityD1: number;
	audiencesD1: number;
	transitions: number;
}

/** The fixture once, its messageIds new for this pass (the people stay the same). */
async function pass(handler: QueueHandler, tag: string): Promise<Phase> {
	server.clearLogs();
	const shift =
		Date.now() - Date.parse(String(fixture.at(-1)?.timestamp)) - MINUTE;
	const events = fixture.map((raw) => ({
		...raw,
		messageId: `${raw.messageId}~${tag}`,
		timestamp: new Date(
			Date.parse(String(raw.timestamp)) + shift,
		).toISOString(),
	}));
	let ms = 0;
	let batches = 0;
	for (let i = 0; i < events.length; i += BATCH) {
		const receivedAt = new Date().toISOString();
		const lines = events.slice(i, i + BATCH).map((e) =>
			JSON.stringify({
				...e,
				receivedAt,
				context: (e as Json).context ?? {},
			}),
		);
		const body = `${JSON.stringify({ sourceId: "web" })}\n${lines.join("\n")}`;
		const started = performance.now();
		const result = await handler.queue(QUEUE, [
			{ id: `${tag}-${i}`, timestamp: new Date(), attempts: 1, body },
		]);
		ms += performance.now() - started;
		if (!result.ackAll)
			throw new Error(`batch not acknowledged: ${JSON.stringify(result)}`);
		batches++;
	}
	const logs = await batchLogs(batches, events.length);
	return {
		events: events.length,
		batches,
		ms,
		identityD1: sum(logs.map((l) => (l.identity as Json).d1Calls)),
		audiencesD1: sum(
			logs.map((l) => (l.audiences as Json | undefined)?.d1Calls),
		),
		transitions: sum(
			logs.map((l) => (l.audiences as Json | undefined)?.transitions),
		),
	};
}

/**
 * The log lines of this pass's batches: 100 events each and the rest last. Activation events
 * the queue feeds back come in batches of their own sizes.
 */
async function batchLogs(batches: number, events: number): Promise<Json[]> {
	const deadline = Date.now() + 60_000;
	const sizes = new Set([BATCH, events % BATCH || BATCH]);
	for (;;) {
		const mine = server
			.getLogs()
			.filter((log) => log.message.includes('"events stored"'))
			.map((log) => JSON.parse(log.message) as Json)
			.filter((l) => sizes.has(Number(l.received)));
		if (mine.length >= batches) return mine.slice(0, batches);
		if (Date.now() > deadline)
			throw new Error(`saw ${mine.length} of ${batches} batch logs`);
		await sleep(50);
	}
}

/** Waits until the queue's own consumer has had nothing to do for 2 s (activation events). */
async function quiet(): Promise<void> {
	const deadline = Date.now() + 60_000;
	let last = -1;
	for (let stable = 0; stable < 4 && Date.now() < deadline; ) {
		const n = server.getLogs().length;
		stable = n === last ? stable + 1 : 0;
		last = n;
		await sleep(500);
	}
}

async function post(url: URL | string, events: Json[]): Promise<number> {
	const response = await fetch(new URL("/v1/batch", url), {
		method: "POST",
		headers: {
			"content-type": "application/json",
			authorization: `Basic ${btoa(`${WRITE_KEY}:`)}`,
		},
		body: JSON.stringify({ batch: events }),
	});
	if (response.status !== 200)
		throw new Error(
			`POST answered ${response.status}: ${await response.text()}`,
		);
	return Date.now();
}

async function eventLatency(url: URL | string): Promise<number[]> {
	const sent = new Map<string, number>();
	for (let i = 0; i < LATENCY_PEOPLE; i++) {
		const anonymousId = `lat_order_${i}_${Date.now()}`;
		const at = await post(url, [
			{
				type: "track",
				event: "Order Completed",
				anonymousId,
				messageId: `lat_o_${anonymousId}`,
				properties: { revenue: 10 },
				context: grant,
			},
		]);
		sent.set(`${anonymousId} ordered`, at);
		await sleep(100);
	}
	return collect(sent);
}

async function timeLatency(
	url: URL | string,
	handler: QueueHandler,
): Promise<number[]> {
	const start = Date.now() + 5_000;
	const trueAt = new Map<string, number>();
	const events = [];
	for (let i = 0; i < LATENCY_PEOPLE; i++) {
		const anonymousId = `lat_cart_${i}_${Date.now()}`;
		// Its hour without an order ends at start + i/N of a minute.
		const becomesTrue = start + Math.floor((i * MINUTE) / LATENCY_PEOPLE);
		trueAt.set(`${anonymousId} cart_abandoners`, becomesTrue);
		events.push({
			type: "track",
			event: "Product Added",
			anonymousId,
			messageId: `lat_c_${anonymousId}`,
			timestamp: new Date(becomesTrue - H).toISOString(),
			context: grant,
		});
	}
	await post(url, events);
	// The minute cron fires at the end of the minute in which the conditions became true.
	await sleep(start + MINUTE - Date.now());
	await handler.scheduled({ scheduledTime: new Date(), cron: "* * * * *" });
	return collect(trueAt);
}

async function collect(from: Map<string, number>): Promise<number[]> {
	const deadline = Date.now() + 60_000;
	while ([...from.keys()].some((k) => !arrivals.has(k))) {
		if (Date.now() > deadline)
			throw new Error(
				`only ${[...from.keys()].filter((k) => arrivals.has(k)).length} of ${from.size} entries arrived`,
			);
		await sleep(50);
	}
	return [...from]
		.map(([k, at]) => (arrivals.get(k) ?? 0) - at)
		.sort((a, b) => a - b);
}

function sum(values: unknown[]): number {
	return values.reduce<number>((t, v) => t + Number(v ?? 0), 0);
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function report(
	phases: Record<"none" | "audiences", Phase[]>,
	eventDriven: number[],
	timeDriven: number[],
) {
	const total = (list: Phase[]) =>
		list.reduce((t, p) => ({
			events: t.events + p.events,
			batches: t.batches + p.batches,
			ms: t.ms + p.ms,
			identityD1: t.identityD1 + p.identityD1,
			audiencesD1: t.audiencesD1 + p.audiencesD1,
			transitions: t.transitions + p.transitions,
		}));
	const rows = (["none", "audiences"] as const).map((k) => {
		const t = total(phases[k]);
		return {
			name: k === "none" ? "no audiences" : "10 computed traits, 20 audiences",
			...t,
			rate: t.events / (t.ms / 1000),
		};
	});
	const [base, with_] = rows as [(typeof rows)[0], (typeof rows)[0]];
	console.log(
		`\nAudiences: the EVENTS consumer on the fixture (${fixture.length} events, 68 profiles), batches of ${BATCH}, ${PASSES} warm passes each, alternating\n`,
	);
	console.log(
		"config                              events/s   identity D1/batch   audiences D1/batch   transitions",
	);
	for (const r of rows)
		console.log(
			`${r.name.padEnd(34)}  ${r.rate.toFixed(0).padStart(8)}   ${(r.identityD1 / r.batches).toFixed(2).padStart(17)}   ${(r.audiencesD1 / r.batches).toFixed(2).padStart(18)}   ${String(r.transitions).padStart(11)}`,
		);
	console.log(
		`\nwith audiences / without: ${((with_.rate / base.rate) * 100).toFixed(0)} % of the events/s (target ≥ 80 %)`,
	);
	console.log(
		`extra D1 round trips per warm batch: ${((with_.audiencesD1 - base.audiencesD1) / with_.batches).toFixed(2)} (target ≤ 1)\n`,
	);
	console.log(
		"entry latency to the webhook          n     p50 (ms)   p99 (ms)",
	);
	for (const [name, list] of [
		["event-driven (POST answered → webhook)", eventDriven],
		["time-driven (condition true → webhook)", timeDriven],
	] as const)
		console.log(
			`${name.padEnd(38)}${String(list.length).padStart(3)}   ${percentile(list, 50).toFixed(0).padStart(8)}   ${percentile(list, 99).toFixed(0).padStart(8)}`,
		);
}
