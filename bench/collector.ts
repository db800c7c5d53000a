/**
 * npm run bench:collector — ingest throughput of the collector next to a bare Hono Worker.
 *
 * Each Worker runs locally in workerd (wrangler's test harness) and is loaded over loopback by
 * autocannon with the same requests: 20-event batches built from the fixture events, each event
 * with a fresh messageId. In every round, one after the other:
 *
 *   1. baseline — a Hono Worker that parses the JSON and answers 200;
 *   2. platform baseline — the same plus the two platform calls every ingest request makes: a
 *      rate limiter check and a queue send (locally both are Durable Object emulations);
 *   3. collector, ingest path — auth, CORS, rate limiter, validation, enrichment, and the EVENTS
 *      queue taking every event before the 200; the consumer is detached, as it runs in its own
 *      invocations in production;
 *   4. the same for a source with `rateLimit: false`, which skips the limiter call.
 *
 * Rounds interleave the Workers so that drift in the machine's speed (seen here: ±25 % on a
 * pure CPU loop from one second to the next) lands on all of them. Each ratio is taken within a
 * round, and the median over rounds is printed; the table shows each Worker's median and range.
 * A last run adds the queue consumer storing into D1 on the same cores.
 *
 * On Linux it also reads each workerd process's CPU time from /proc: the busiest process's CPU
 * per request, and how much of one core it used, show where a Worker's throughput is bound.
 *
 * Options: --duration <s> (≤ 20, default 6) --rounds <n> (default 5) --connections <n>
 * (default 16) --batch-size <n> (default 20).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { createTestHarness } from "wrangler";
import {
	DEV_WRITE_KEY,
	devConfig,
	type LocalCollector,
	startCollector,
} from "../test/support/collector.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
	options: {
		duration: { type: "string", default: "6" },
		rounds: { type: "string", default: "5" },
		connections: { type: "string", default: "16" },
		"batch-size": { type: "string", default: "20" },
	},
});
const DURATION = Math.min(20, Number(values.duration));
const ROUNDS = Math.max(1, Number(values.rounds));
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

/** CPU time (ms) of every workerd process, from /proc; empty where /proc is not there. */
function workerdCpuMs(): Map<string, number> {
	const times = new Map<string, number>();
	let pids: string[];
	try {
		pids = execFileSync("pgrep", ["-x", "workerd"], { encoding: "utf8" })
			.trim()
			.split("\n");
	} catch {
		return times;
	}
	const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
	for (const pid of pids) {
		try {
			// Fields after "(comm) ": state is [0], utime [11], stime [12] (proc(5)).
			const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
				.split(") ")[1]
				?.split(" ");
			if (!fields) continue;
			times.set(pid, (Number(fields[11]) + Number(fields[12])) / ticksPerMs);
		} catch {
			// The process ended between pgrep and the read: it served none of this load.
		}
	}
	return times;
}

interface Run {
	eventsPerSecond: number;
	p50: number;
	p99: number;
	errors: number;
	/** CPU ms per request of the busiest workerd process, and its share of one core. */
	busiestCpuMs?: number;
	busiestCore?: number;
}

async function load(base: URL, headers: Record<string, string>): Promise<Run> {
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
	const before = workerdCpuMs();
	const result = await autocannon({ ...options, duration: DURATION });
	const after = workerdCpuMs();
	const requests = result.requests.total;
	let busiest: number | undefined;
	for (const [pid, ms] of after) {
		const used = ms - (before.get(pid) ?? 0);
		if (busiest === undefined || used > busiest) busiest = used;
	}
	return {
		eventsPerSecond: (requests * BATCH) / DURATION,
		p50: result.latency.p50,
		p99: result.latency.p99,
		errors: result.non2xx + result.errors,
		...(busiest !== undefined && requests > 0
			? {
					busiestCpuMs: busiest / requests,
					busiestCore: busiest / (DURATION * 1000),
				}
			: {}),
	};
}

/** Starts a Worker with the test harness, loads it once, stops it. */
async function loadHarness(
	name: string,
	main: string,
	extra: Record<string, unknown> = {},
): Promise<Run> {
	const harness = createTestHarness({
		root,
		workers: [
			{ config: { name, main, compatibility_date: "2026-10-23", ...extra } },
		],
	});
	try {
		return await load((await harness.listen()).url, {});
	} finally {
		await harness.close();
	}
}

async function loadCollector(
	start: () => Promise<LocalCollector>,
	after?: (collector: LocalCollector) => Promise<void>,
): Promise<Run> {
	const collector = await start();
	try {
		const run = await load(collector.url, auth);
		await after?.(collector);
		return run;
	} finally {
		await collector.close();
	}
}

const auth = { authorization: `Basic ${btoa(`${DEV_WRITE_KEY}:`)}` };
// A rate limit no benchmark reaches: the limiter is still called on every request.
const NO_LIMIT = 1_000_000_000;
const unlimitedConfig = {
	...devConfig,
	sources: devConfig.sources.map((source) => ({
		...source,
		rateLimit: false,
	})),
};

const workers = {
	bare: "bare Hono: parse JSON, 200",
	platform: "bare Hono + rate limiter + queue send",
	collector: "collector: ingest path",
	unlimited: "collector: ingest path, source without rate limit",
} as const;
type Key = keyof typeof workers;
const runs: Record<Key, Run[]> = {
	bare: [],
	platform: [],
	collector: [],
	unlimited: [],
};

for (let round = 1; round <= ROUNDS; round++) {
	runs.bare.push(await loadHarness("baseline", "bench/baseline/worker.ts"));
	runs.platform.push(
		await loadHarness(
			"baseline-platform",
			"bench/baseline/platform-worker.ts",
			{
				queues: { producers: [{ binding: "EVENTS", queue: "bench-events" }] },
				ratelimits: [
					{
						name: "RATE_LIMITER",
						namespace_id: "1",
						simple: { limit: NO_LIMIT, period: 60 },
					},
				],
			},
		),
	);
	runs.collector.push(
		await loadCollector(() =>
			startCollector({ rateLimit: NO_LIMIT, consumer: false }),
		),
	);
	runs.unlimited.push(
		await loadCollector(() =>
			startCollector({ consumer: false, config: unlimitedConfig }),
		),
	);
	const ratio = (key: Key) =>
		pct(
			(runs[key].at(-1)?.eventsPerSecond ?? 0) /
				(runs.bare.at(-1)?.eventsPerSecond ?? 1),
		);
	console.log(
		`round ${round}/${ROUNDS}: collector ${ratio("collector")}, platform baseline ${ratio("platform")}, without rate limit ${ratio("unlimited")} of the bare Worker`,
	);
}

let stored = 0;
const withConsumer = await loadCollector(
	() => startCollector({ rateLimit: NO_LIMIT }),
	async (collector) => {
		const row = await collector.env.DB.prepare(
			"SELECT COUNT(*) AS n FROM events",
		).first<{ n: number }>();
		stored = row?.n ?? 0;
	},
);

function median(numbers: number[]): number {
	const sorted = [...numbers].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2
		? (sorted[middle] ?? 0)
		: ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
function pct(fraction: number): string {
	return `${(fraction * 100).toFixed(1)} %`;
}
function row(name: string, list: Run[]) {
	const of = (pick: (run: Run) => number | undefined) =>
		median(list.map(pick).filter((v): v is number => v !== undefined));
	const eventsPerSecond = list.map((run) => run.eventsPerSecond);
	// Without /proc (not Linux) there is no CPU reading: say so rather than print 0.
	const measuredCpu = list.some((run) => run.busiestCpuMs !== undefined);
	return {
		worker: name,
		"events/s": Math.round(median(eventsPerSecond)),
		"min–max": `${Math.round(Math.min(...eventsPerSecond))}–${Math.round(Math.max(...eventsPerSecond))}`,
		"p50 ms": of((run) => run.p50),
		"p99 ms": of((run) => run.p99),
		"busiest workerd: CPU ms/request": measuredCpu
			? of((run) => run.busiestCpuMs).toFixed(2)
			: "n/a",
		"…share of a core": measuredCpu ? pct(of((run) => run.busiestCore)) : "n/a",
		errors: list.reduce((sum, run) => sum + run.errors, 0),
	};
}

console.log(
	`\n${BATCH}-event batches, ${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up, loopback; ${ROUNDS} interleaved rounds, each Worker's median\n`,
);
console.table([
	...(Object.keys(workers) as Key[]).map((key) => row(workers[key], runs[key])),
	row("collector + consumer on same cores (one run)", [withConsumer]),
]);
/** The median over rounds of a ratio taken within each round, so drift between rounds cancels. */
function ratioOf(top: Key, bottom: Key): number {
	return median(
		runs[top].map(
			(run, i) => run.eventsPerSecond / (runs[bottom][i]?.eventsPerSecond ?? 1),
		),
	);
}
const bare = median(runs.bare.map((run) => run.eventsPerSecond));
console.log("ratios: the median of the rounds' own ratios");
console.log(
	`ingest path / bare Worker: ${pct(ratioOf("collector", "bare"))} (target ≥ 60 %)`,
);
console.log(
	`bare Worker + the same two platform calls, nothing else / bare Worker: ${pct(ratioOf("platform", "bare"))} — a ceiling for any Worker that makes those calls`,
);
console.log(
	`ingest path / that platform baseline: ${pct(ratioOf("collector", "platform"))} — the collector's own work`,
);
console.log(
	`ingest path for a source without rate limit / bare Worker: ${pct(ratioOf("unlimited", "bare"))}`,
);
console.log(
	`with the consumer on the same cores (one run) / median bare Worker: ${pct(withConsumer.eventsPerSecond / bare)}; it had stored ${stored} events in D1 when the load stopped`,
);
const all = [...Object.values(runs).flat(), withConsumer];
if (all.some((run) => run.errors > 0)) process.exitCode = 1;
