/**
 * npm run bench:collector — ingest throughput of the collector next to a bare Hono Worker.
 *
 * Each Worker runs locally in workerd (wrangler's test harness) and is loaded in turn over
 * loopback by autocannon with the same requests: 20-event batches built from the fixture events,
 * each event with a fresh messageId. Four runs, in one process, one after the other:
 *
 *   1. baseline — a Hono Worker that parses the JSON and answers 200;
 *   2. platform baseline — the same plus the two platform calls every ingest request makes: a
 *      rate limiter check and a queue send (locally both are Durable Object emulations);
 *   3. collector, ingest path — auth, CORS, rate limiter, validation, enrichment, and the EVENTS
 *      queue taking every event before the 200; the consumer is detached, as it runs in its own
 *      invocations in production;
 *   4. collector with its consumer storing into D1 on the same cores, for reference.
 *
 * Options: --duration <s> (≤ 20, default 15) --connections <n> (default 16) --batch-size <n>.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { createTestHarness } from "wrangler";
import {
	DEV_WRITE_KEY,
	type LocalCollector,
	startCollector,
} from "../test/support/collector.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
	options: {
		duration: { type: "string", default: "15" },
		connections: { type: "string", default: "16" },
		"batch-size": { type: "string", default: "20" },
	},
});
const DURATION = Math.min(20, Number(values.duration));
const CONNECTIONS = Number(values.connections);
const BATCH = Number(values["batch-size"]);

/** Fixture events serialised once, split around their messageId so each request gets new ids cheaply. */
const templates = readFileSync(`${root}test/fixtures/events.ndjson`, "utf8")
	.trim()
	.split("\n")
	.map((line) => {
		const event = JSON.parse(line);
		event.messageId = "@@ID@@";
		return JSON.stringify(event).split('"@@ID@@"') as [string, string];
	});
let counter = 0;
function nextBody(): string {
	const events: string[] = [];
	for (let i = 0; i < BATCH; i++) {
		const [head, tail] = templates[counter % templates.length] as [
			string,
			string,
		];
		counter += 1;
		events.push(`${head}"bench-${counter}"${tail}`);
	}
	return `{"batch":[${events.join(",")}],"sentAt":"${new Date().toISOString()}"}`;
}

interface Row {
	worker: string;
	"events/s": number;
	requests: number;
	"p50 ms": number;
	"p99 ms": number;
	"non-2xx/errors": number;
}

async function load(
	name: string,
	base: URL,
	headers: Record<string, string>,
): Promise<Row> {
	const options = {
		url: new URL("/v1/batch", base).href,
		method: "POST" as const,
		headers: { "content-type": "application/json", ...headers },
		connections: CONNECTIONS,
		setupClient: (client: autocannon.Client) => {
			client.setBody(nextBody());
			client.on("response", () => client.setBody(nextBody()));
		},
	};
	await autocannon({ ...options, duration: 2 }); // warm-up: JIT, isolate caches, D1 file
	const result = await autocannon({ ...options, duration: DURATION });
	return {
		worker: name,
		"events/s": Math.round((result.requests.total * BATCH) / DURATION),
		requests: result.requests.total,
		"p50 ms": result.latency.p50,
		"p99 ms": result.latency.p99,
		"non-2xx/errors": result.non2xx + result.errors,
	};
}

async function countStored(collector: LocalCollector): Promise<number> {
	const row = await collector.env.DB.prepare(
		"SELECT COUNT(*) AS n FROM events",
	).first<{ n: number }>();
	return row?.n ?? 0;
}

const auth = { authorization: `Basic ${btoa(`${DEV_WRITE_KEY}:`)}` };
// A rate limit no benchmark reaches: the limiter is still called on every request.
const NO_LIMIT = 1_000_000_000;

const baselineHarness = createTestHarness({
	root,
	workers: [
		{
			config: {
				name: "baseline",
				main: "bench/baseline/worker.ts",
				compatibility_date: "2026-10-23",
			},
		},
	],
});
const baseline = await load(
	"bare Hono: parse JSON, 200",
	(await baselineHarness.listen()).url,
	{},
);
await baselineHarness.close();

const platformHarness = createTestHarness({
	root,
	workers: [
		{
			config: {
				name: "baseline-platform",
				main: "bench/baseline/platform-worker.ts",
				compatibility_date: "2026-10-23",
				queues: { producers: [{ binding: "EVENTS", queue: "bench-events" }] },
				ratelimits: [
					{
						name: "RATE_LIMITER",
						namespace_id: "1",
						simple: { limit: NO_LIMIT, period: 60 },
					},
				],
			},
		},
	],
});
const platform = await load(
	"bare Hono + rate limiter + queue send",
	(await platformHarness.listen()).url,
	{},
);
await platformHarness.close();

const detached = await startCollector({ rateLimit: NO_LIMIT, consumer: false });
const ingest = await load("collector: ingest path", detached.url, auth);
await detached.close();

const attached = await startCollector({ rateLimit: NO_LIMIT });
const withConsumer = await load(
	"collector + consumer on same cores",
	attached.url,
	auth,
);
const stored = await countStored(attached);
await attached.close();

console.log(
	`\n${BATCH}-event batches, ${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up, loopback, one process\n`,
);
const rows = [baseline, platform, ingest, withConsumer];
console.table(rows);
const ratio = ingest["events/s"] / baseline["events/s"];
console.log(
	`ingest path / baseline events/s: ${(ratio * 100).toFixed(1)} % (target ≥ 60 %)`,
);
console.log(
	`ingest path / (bare Hono + the same platform calls): ${((ingest["events/s"] / platform["events/s"]) * 100).toFixed(1)} % — the collector's own work`,
);
console.log(
	`with the consumer on the same cores: ${((withConsumer["events/s"] / baseline["events/s"]) * 100).toFixed(1)} %; it had stored ${stored} events in D1 when the load stopped`,
);
if (rows.some((row) => row["non-2xx/errors"] > 0)) process.exitCode = 1;
