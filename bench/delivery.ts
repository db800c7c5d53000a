/**
 * Delivery benchmark: starts the collector with `wrangler dev` on a free port and a temporary
 * state, three local vendor servers (webhook, Mixpanel, PostHog — the same servers the tests
 * use, so every request is also checked against the vendor's contract), then in one run:
 *
 *   1. ingest only: posts the 624 fixture events with no destination configured and measures
 *      acceptance (the /v1/batch response) → stored and processed by the EVENTS consumer;
 *   2. delivery: configures the three destinations, posts the fixture again (new messageIds)
 *      and measures acceptance → arrival at each vendor server.
 *
 * Prints p50/p99 latency and throughput per destination. Bounded: it gives up after 3 minutes.
 *
 *   npm run bench:delivery
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	insertId,
	uuidFor,
} from "../packages/collector/src/destinations/kit/idempotency";
import { mixpanelApi } from "../packages/collector/test/vendors/mixpanel";
import { startMockServer } from "../packages/collector/test/vendors/mock-server";
import { posthogCapture } from "../packages/collector/test/vendors/posthog";
import {
	type RecordedRequest,
	TEST_PUBLIC,
	TEST_SECRETS,
} from "../packages/collector/test/vendors/secrets";
import { webhookReceiver } from "../packages/collector/test/vendors/webhook";
import { push } from "../scripts/config";
import { freePort, ROOT, targetFlags, wrangler } from "../scripts/wrangler";
import { percentile } from "./stats";

const DEADLINE = Date.now() + 180_000;
const BATCH = 50; // events per POST, like an SDK flushing its queue
const CONCURRENCY = 4; // POSTs in flight
const WRITE_KEY = "wk_bench_web_0123456789";
const TENANT = "bench";

const state = mkdtempSync(join(tmpdir(), "conduit-bench-"));
const fixture = readFileSync(join(ROOT, "test/fixtures/events.ndjson"), "utf8")
	.trim()
	.split("\n")
	.map((line) => JSON.parse(line) as Record<string, unknown>);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
	what: string,
	probe: () => Promise<T | undefined | false>,
	everyMs = 250,
): Promise<T> {
	for (;;) {
		const value = await probe();
		if (value) return value;
		if (Date.now() > DEADLINE)
			throw new Error(`benchmark timed out waiting for ${what}`);
		await sleep(everyMs);
	}
}

function writeConfig(destinations: unknown[]): string {
	const file = join(state, `config-${destinations.length}.json`);
	const source = {
		id: "web",
		writeKey: WRITE_KEY,
		rateLimit: false,
		consent: { defaults: { analytics: true } },
	};
	writeFileSync(
		file,
		// The sinks listen on 127.0.0.1: a private host, which the config must opt in to.
		JSON.stringify({
			version: 1,
			allowPrivateNetwork: true,
			sources: [source],
			destinations,
		}),
	);
	return file;
}

/** Posts events in batches; returns each event's acceptance time (its batch's response). */
async function post(
	base: string,
	events: Record<string, unknown>[],
): Promise<{ accepted: Map<string, number>; ms: number }> {
	const accepted = new Map<string, number>();
	const batches: Record<string, unknown>[][] = [];
	for (let i = 0; i < events.length; i += BATCH)
		batches.push(events.slice(i, i + BATCH));
	const started = Date.now();
	let next = 0;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (next < batches.length) {
				const batch = batches[next++] as Record<string, unknown>[];
				const response = await fetch(`${base}/v1/batch`, {
					method: "POST",
					headers: {
						"content-type": "application/json",
						authorization: `Basic ${btoa(`${WRITE_KEY}:`)}`,
					},
					body: JSON.stringify({ batch }),
				});
				const body = (await response.json()) as { accepted?: number };
				if (!response.ok || body.accepted !== batch.length)
					throw new Error(
						`ingest failed: ${response.status} ${JSON.stringify(body)}`,
					);
				const at = Date.now();
				for (const event of batch) accepted.set(event.messageId as string, at);
			}
		}),
	);
	return { accepted, ms: Date.now() - started };
}

function tagged(
	tag: string,
): (Record<string, unknown> & { messageId: string })[] {
	return fixture.map((event) => ({
		...event,
		messageId: `${tag}_${event.messageId as string}`,
	}));
}

interface Row {
	name: string;
	events: number;
	p50: number;
	p99: number;
	perSecond: number;
	note: string;
}

function row(
	name: string,
	accepted: Map<string, number>,
	arrived: Map<string, number>,
	note = "",
): Row {
	const latencies = [...arrived]
		.map(([id, at]) => at - (accepted.get(id) ?? at))
		.sort((a, b) => a - b);
	const first = Math.min(...accepted.values());
	const last = Math.max(...arrived.values());
	return {
		name,
		events: arrived.size,
		p50: percentile(latencies, 50),
		p99: percentile(latencies, 99),
		perSecond: arrived.size / ((last - first) / 1000),
		note,
	};
}

/** First arrival of each event at a vendor server, and a check on what it received. */
function arrivals(
	requests: RecordedRequest[],
	idsOf: (body: unknown) => string[],
) {
	const arrived = new Map<string, number>();
	let copies = 0;
	const violations = requests.flatMap((r) => r.violations);
	for (const request of requests) {
		if (request.status >= 300) continue;
		for (const id of idsOf(request.body)) {
			if (arrived.has(id)) copies++;
			else arrived.set(id, request.receivedAt);
		}
	}
	return { arrived, copies, violations, requests: requests.length };
}

async function main() {
	const sinks = {
		webhook: await startMockServer(webhookReceiver),
		mixpanel: await startMockServer(mixpanelApi),
		posthog: await startMockServer(posthogCapture),
	};
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const target = { remote: false, persistTo: state };
	let dev: ChildProcess | undefined;
	try {
		wrangler(["d1", "migrations", "apply", "DB", ...targetFlags(target)]);
		push(writeConfig([]), target);
		const vars = {
			...TEST_SECRETS,
			ADMIN_TOKEN: "bench",
			CONFIG_CACHE_SECONDS: "1",
		};
		dev = spawn(
			process.execPath,
			[
				join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
				"dev",
				"--ip",
				"127.0.0.1",
				"--port",
				String(port),
				"--persist-to",
				state,
				"--show-interactive-dev-session=false",
				"--log-level",
				"warn",
				...Object.entries(vars).flatMap(([k, value]) => [
					"--var",
					`${k}:${value}`,
				]),
			],
			{
				cwd: ROOT,
				stdio: ["ignore", "ignore", "inherit"],
				detached: true,
				env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
			},
		);
		await until(
			"the collector to start",
			async () =>
				(await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
		);

		// 1. Ingest only.
		const baseline = await post(base, tagged("b1"));
		const processed = await until(
			"the ingest-only events to be processed",
			async () => {
				const out = wrangler([
					"d1",
					"execute",
					"DB",
					...targetFlags(target),
					"--json",
					"--command",
					"SELECT message_id, processed_at FROM events WHERE message_id LIKE 'b1_%' AND processed_at IS NOT NULL",
				]);
				const rows =
					(
						JSON.parse(out) as {
							results: { message_id: string; processed_at: string }[];
						}[]
					)[0]?.results ?? [];
				return rows.length === fixture.length && rows;
			},
			1000,
		);
		const stored = new Map(
			processed.map((r) => [r.message_id, Date.parse(r.processed_at)]),
		);

		// 2. With three destinations.
		const endpoint = (name: keyof typeof sinks) =>
			`${sinks[name].url}/t/${TENANT}`;
		push(
			writeConfig([
				{
					id: "webhook",
					type: "webhook",
					settings: {
						url: `${endpoint("webhook")}/in`,
						secrets: [{ secret: "WEBHOOK_SECRET" }],
					},
				},
				{
					id: "mixpanel",
					type: "mixpanel",
					settings: {
						projectToken: TEST_PUBLIC.mixpanelProjectToken,
						projectId: TEST_PUBLIC.mixpanelProjectId,
						credentials: {
							username: TEST_PUBLIC.mixpanelUsername,
							secret: { secret: "MIXPANEL_SECRET" },
						},
						endpoint: endpoint("mixpanel"),
					},
				},
				{
					id: "posthog",
					type: "posthog",
					settings: {
						apiKey: TEST_PUBLIC.posthogApiKey,
						endpoint: endpoint("posthog"),
					},
				},
			]),
			target,
		);
		await sleep(1500); // CONFIG_CACHE_SECONDS=1 for this run
		const received = async (name: keyof typeof sinks) =>
			(await (
				await fetch(`${endpoint(name)}/__requests`)
			).json()) as RecordedRequest[];
		// Mixpanel and PostHog receive ids derived from the messageId ($insert_id, uuid): map them back.
		const events = tagged("b2");
		const byInsertId = new Map<string, string>();
		const byUuid = new Map<string, string>();
		for (const event of events) {
			const id = event.messageId;
			byInsertId.set(await insertId("web", id), id);
			byUuid.set(await uuidFor("web", id), id);
		}
		const webhookIds = (body: unknown) =>
			(
				(body as { data?: { events?: { messageId: string }[] } }).data
					?.events ?? []
			).map((e) => e.messageId);
		const mixpanelIds = (body: unknown) =>
			(Array.isArray(body)
				? (body as { properties?: { $insert_id?: string } }[])
				: []
			)
				.map((r) => byInsertId.get(r.properties?.$insert_id ?? "") ?? "")
				.filter(Boolean);
		const posthogIds = (body: unknown) =>
			((body as { batch?: { uuid?: string }[] }).batch ?? [])
				.map((r) => byUuid.get(r.uuid ?? "") ?? "")
				.filter(Boolean);
		// Mixpanel gets track and page through /import (identify goes to /engage, group is dropped).
		const expected = {
			webhook: events.length,
			mixpanel: events.filter((e) => e.type === "track" || e.type === "page")
				.length,
			posthog: events.length,
		};
		const delivery = await post(base, events);
		const results = await until(
			"every destination to receive every event",
			async () => {
				const [w, m, p] = await Promise.all([
					received("webhook"),
					received("mixpanel"),
					received("posthog"),
				]);
				const got = {
					webhook: arrivals(w, webhookIds),
					mixpanel: arrivals(
						m.filter((r) => r.url.startsWith("/import")),
						mixpanelIds,
					),
					posthog: arrivals(p, posthogIds),
				};
				return (
					(Object.keys(expected) as (keyof typeof expected)[]).every(
						(k) => got[k].arrived.size >= expected[k],
					) && got
				);
			},
		);

		const rows: Row[] = [
			row(
				"ingest only (accepted → stored)",
				baseline.accepted,
				stored,
				`${Math.round((fixture.length / baseline.ms) * 1000)} events/s accepted`,
			),
			...(["webhook", "mixpanel", "posthog"] as const).map((name) =>
				row(
					`${name} (accepted → delivered)`,
					delivery.accepted,
					results[name].arrived,
					`${results[name].requests} requests, ${results[name].copies} duplicates, ${results[name].violations.length} contract violations`,
				),
			),
		];
		console.log(
			`\nConduit delivery benchmark — ${fixture.length} fixture events, batches of ${BATCH}, ${CONCURRENCY} in flight, wrangler dev (local workerd)\n`,
		);
		console.log(
			[
				"stage".padEnd(36),
				"events".padStart(6),
				"p50 ms".padStart(8),
				"p99 ms".padStart(8),
				"events/s".padStart(9),
				"  notes",
			].join(""),
		);
		for (const r of rows)
			console.log(
				[
					r.name.padEnd(36),
					String(r.events).padStart(6),
					String(r.p50).padStart(8),
					String(r.p99).padStart(8),
					r.perSecond.toFixed(0).padStart(9),
					`  ${r.note}`,
				].join(""),
			);
		const bad = (["webhook", "mixpanel", "posthog"] as const).filter(
			(n) => results[n].violations.length > 0 || results[n].copies > 0,
		);
		if (bad.length > 0)
			throw new Error(`contract violations or duplicates at ${bad.join(", ")}`);
	} finally {
		if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
		for (const sink of Object.values(sinks)) sink.server.close();
		rmSync(state, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exitCode = 1;
});
