/**
 * npm run bench:scale — what one event costs in D1, R2, Queues and Worker CPU, measured on the
 * real Worker under `wrangler dev`, and the capacity and monthly bill that follow from it.
 *
 *   1. Generates a load in the shape of the shared fixture (bench/scale/load.ts): by default
 *      200,304 events from 20,544 people, posted in batches of 20, 8 requests in flight.
 *   2. Two short passes on a sample (default 20,000 events, fresh state each) measure Worker CPU:
 *      ingest alone (no queue consumer), then ingest + the EVENTS consumer. The full run adds
 *      the DELIVERIES consumer; each figure is the difference between passes.
 *   3. The full run: three webhook destinations on local receivers (127.0.0.1, answering 200),
 *      waits until each has every event and the consumers are quiet, and sums the consumers'
 *      usage lines (D1 rows per table, R2 and queue operations: src/queues/usage.ts).
 *   4. Measures the local D1 file per table (sqlite dbstat), runs the cron jobs with their clock
 *      moved past the window until they delete nothing more, measures again, then lists R2.
 *
 * Options: --events <n> (or BENCH_SCALE_EVENTS; default 200000) --sample <n> (default
 * min(events, 20000)) --batch-size <n> (20) --connections <n> (8) --timeout-minutes <n> (15; the
 * cron rounds after the load have 10 more)
 * --var NAME:VALUE (repeatable, passed to wrangler dev) --window-hours <h> (default: a
 * *_WINDOW_HOURS var of wrangler.toml, else EVENT_RETENTION_DAYS × 24)
 * --events-per-person <n> (20, for the projections) --active-hours-per-person <n> (hours a month
 * a person is active, for the erasure index's projection; default: --events-per-person, the
 * most it can be) --json <file> (also write the results)
 * --report <file> (print the report of a results file written by --json, and run nothing).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "smol-toml";
import { freePort, ROOT, targetFlags, wrangler } from "../scripts/wrangler";
import { workerdCpuMs } from "./scale/cpu";
import { type Consumers, type Dev, sleep, startDev } from "./scale/dev";
import { generateLoad, type Load } from "./scale/load";
import { measureD1, measureR2 } from "./scale/local-state";
import { splitD1, sumR2, sumUsage } from "./scale/measure";
import { type Receiver, startReceiver } from "./scale/receivers";
import { type Results, report } from "./scale/report";

const { values } = parseArgs({
	options: {
		events: {
			type: "string",
			default: process.env.BENCH_SCALE_EVENTS ?? "200000",
		},
		sample: { type: "string" },
		"batch-size": { type: "string", default: "20" },
		connections: { type: "string", default: "8" },
		"timeout-minutes": { type: "string", default: "15" },
		var: { type: "string", multiple: true, default: [] },
		"window-hours": { type: "string" },
		"events-per-person": { type: "string", default: "20" },
		"active-hours-per-person": { type: "string" },
		json: { type: "string" },
		report: { type: "string" },
	},
});
const EVENTS = Number(values.events);
const SAMPLE = Number(values.sample ?? Math.min(EVENTS, 20_000));
const BATCH = Number(values["batch-size"]);
const CONNECTIONS = Number(values.connections);
const DEADLINE = Date.now() + Number(values["timeout-minutes"]) * 60_000;
/** How long the cron rounds after the load may take (about 2 s a round locally). */
const PRUNE_MINUTES = 10;
const WRITE_KEY = "wk_bench_scale_0123456789";
const EXTRA_VARS = Object.fromEntries(
	values.var.map((pair) => {
		const at = pair.indexOf(":");
		if (at < 1) throw new Error(`--var wants NAME:VALUE, got ${pair}`);
		return [pair.slice(0, at), pair.slice(at + 1)];
	}),
);

const toml = parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as {
	vars?: Record<string, string>;
	triggers?: { crons?: string[] };
};
const vars = { ...toml.vars, ...EXTRA_VARS };
const RETENTION_DAYS = Number(vars.EVENT_RETENTION_DAYS ?? 30);
const windowVar = Object.keys(vars).find((name) => /WINDOW_HOURS$/.test(name));
const WINDOW_HOURS = Number(
	values["window-hours"] ?? (windowVar ? vars[windowVar] : RETENTION_DAYS * 24),
);

function log(message: string) {
	console.error(
		`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${message}`,
	);
}

async function until(what: string, done: () => boolean | Promise<boolean>) {
	while (!(await done())) {
		if (Date.now() > DEADLINE)
			throw new Error(`bench:scale timed out waiting for ${what}`);
		await sleep(500);
	}
}

/**
 * Posts every body with `CONNECTIONS` requests in flight, as SDKs flushing their queues do. A
 * request that fails at the network level is sent again (at most 3 times, as an SDK would; the
 * collector deduplicates by messageId, and the receivers count duplicates); any answer but 2xx
 * stops the bench. Answers how long it took and how many requests were sent again.
 */
async function post(
	dev: Dev,
	load: Load,
): Promise<{ ms: number; resent: number; errors: string[] }> {
	const started = Date.now();
	let next = 0;
	let resent = 0;
	const errors: string[] = [];
	const send = async (body: string) => {
		for (let attempt = 1; ; attempt++) {
			try {
				const response = await fetch(`${dev.base}/v1/batch`, {
					method: "POST",
					headers: {
						"content-type": "application/json",
						authorization: `Basic ${btoa(`${WRITE_KEY}:`)}`,
					},
					body,
					signal: AbortSignal.timeout(180_000),
				});
				const text = await response.text();
				if (!response.ok)
					throw new Error(`ingest answered ${response.status}: ${text}`);
				return;
			} catch (error) {
				if (
					error instanceof Error &&
					error.message.startsWith("ingest answered")
				)
					throw error;
				const reason =
					error instanceof Error
						? String(error.cause ?? error.message)
						: String(error);
				if (errors.length < 5) errors.push(reason);
				if (attempt >= 3) throw new Error(`ingest failed 3 times: ${reason}`);
				resent++;
				await sleep(200 * attempt);
			}
		}
	};
	await Promise.all(
		Array.from({ length: CONNECTIONS }, async () => {
			while (next < load.bodies.length)
				await send(load.bodies[next++] as string);
		}),
	);
	return { ms: Date.now() - started, resent, errors };
}

function configDocument(receivers: readonly Receiver[]): string {
	return JSON.stringify({
		version: 1,
		// The receivers listen on 127.0.0.1: a private host, which the config must opt in to.
		allowPrivateNetwork: true,
		sources: [
			{
				id: "web",
				writeKey: WRITE_KEY,
				rateLimit: false,
				consent: { defaults: { analytics: true } },
			},
		],
		destinations: receivers.map((receiver, i) => ({
			id: `hook-${i + 1}`,
			type: "webhook",
			settings: { url: `${receiver.url}/in` },
		})),
	});
}

const consumed = (dev: Dev, queue: string) =>
	dev.usage
		.filter((line) => line.queue === queue)
		.reduce((n, line) => n + line.messages, 0);
const quietFor = (dev: Dev, ms: number) => Date.now() - dev.lastUsageAt > ms;

/** Starts a fresh Worker, posts `load`, waits for `settled`; returns CPU and wall times. */
async function run(
	consumers: Consumers,
	load: Load,
	receivers: readonly Receiver[],
	settled: (dev: Dev) => boolean,
	after?: (dev: Dev, state: string) => Promise<void>,
) {
	const state = mkdtempSync(join(tmpdir(), "conduit-scale-"));
	const dev = await startDev({
		state,
		port: await freePort(),
		consumers,
		configDocument: configDocument(receivers),
		vars: {
			ADMIN_TOKEN: "bench-scale",
			CONFIG_CACHE_SECONDS: "30",
			...EXTRA_VARS,
		},
	});
	try {
		await sleep(1000);
		const cpuBefore = workerdCpuMs(dev.pid);
		const posted = await post(dev, load);
		if (posted.resent > 0)
			log(
				`${posted.resent} requests sent again after: ${posted.errors.join("; ")}`,
			);
		await until(`the ${consumers} pass to settle`, () => settled(dev));
		const cpuAfter = workerdCpuMs(dev.pid);
		await after?.(dev, state);
		return {
			postMs: posted.ms,
			resent: posted.resent,
			cpuMs:
				cpuBefore === undefined || cpuAfter === undefined
					? undefined
					: cpuAfter - cpuBefore,
			usage: [...dev.usage],
		};
	} finally {
		await dev.stop();
		rmSync(state, { recursive: true, force: true });
	}
}

/** Row counts of every table, through wrangler (the Worker keeps running). */
function rowCounts(dev: Dev, state: string, tables: string[]): number {
	const out = wrangler([
		"d1",
		"execute",
		"DB",
		...targetFlags({ remote: false, persistTo: state }),
		"--config",
		dev.configPath,
		"--json",
		"--command",
		// One row: D1 caps the terms of a compound SELECT, so no UNION ALL.
		`SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}")`).join(" + ")} AS n`,
	]);
	const rows =
		(JSON.parse(out) as { results: { n: number }[] }[])[0]?.results ?? [];
	return rows.reduce((sum, row) => sum + row.n, 0);
}

async function main() {
	const started = Date.now();
	const load = generateLoad({ events: EVENTS, batchSize: BATCH });
	const sample =
		SAMPLE >= load.events
			? load
			: generateLoad({ events: SAMPLE, batchSize: BATCH });
	log(
		`${load.events} events from ${load.people} people in ${load.bodies.length} requests; CPU sample ${sample.events} events; window ${WINDOW_HOURS} h`,
	);

	log("pass 1/3: ingest only (no queue consumer)");
	const ingest = await run("none", sample, [], () => true);
	log("pass 2/3: ingest + EVENTS consumer");
	const eventsOnly = await run(
		"events",
		sample,
		[],
		// Every message's usage line seen, or a minute without one: a consumer invocation that
		// dies before its `finally` logs nothing, and its redelivery finds the work done.
		(dev) =>
			(consumed(dev, "conduit-events") >= sample.bodies.length &&
				quietFor(dev, 2000)) ||
			quietFor(dev, 60_000),
	);

	log("pass 3/3: the full pipeline with three webhook destinations");
	const receivers = await Promise.all([1, 2, 3].map(() => startReceiver()));
	const full: Partial<Results["state"]> = {};
	let deliveredAt = 0;
	let pruneRounds = 0;
	try {
		const fullRun = await run(
			"all",
			load,
			receivers,
			(dev) => {
				const done =
					receivers.every((r) => r.received.size >= load.events) &&
					quietFor(dev, 3000) &&
					(consumed(dev, "conduit-events") >= load.bodies.length ||
						quietFor(dev, 30_000));
				if (done) deliveredAt = Date.now();
				return done;
			},
			async (dev, state) => {
				log("measuring D1 inside the window");
				full.window = measureD1(state);
				const tables = Object.keys(full.window.tables);
				// Past the window (and not past retention when the window is shorter).
				const time = new Date(Date.now() + (WINDOW_HOURS + 1) * 3_600_000);
				const crons = toml.triggers?.crons ?? [];
				log(
					`running the cron jobs at ${time.toISOString()} until they delete nothing more`,
				);
				let last = rowCounts(dev, state, tables);
				let unchanged = 0;
				// The window's prune walks 4 of 256 key ranges a run: 64 runs cover it all. Its own
				// bound: the load's deadline may be spent by a slow delivery.
				const pruneDeadline = Date.now() + PRUNE_MINUTES * 60_000;
				while (
					unchanged < 2 &&
					pruneRounds < 80 &&
					Date.now() < pruneDeadline
				) {
					for (const cron of crons) await dev.scheduled(cron, time);
					pruneRounds++;
					const now = rowCounts(dev, state, tables);
					unchanged = now === last ? unchanged + 1 : 0;
					last = now;
				}
				full.pruned = measureD1(state);
				await dev.stop();
				full.r2 = await measureR2(dev.configPath, state);
			},
		);
		const results: Results = {
			measuredAt: new Date(started).toISOString(),
			load: {
				events: load.events,
				people: load.people,
				requests: load.bodies.length,
				batchSize: BATCH,
				eventBytes: load.eventBytes,
				sample: sample.events,
			},
			windowHours: WINDOW_HOURS,
			retentionDays: RETENTION_DAYS,
			eventsPerPerson: Number(values["events-per-person"]),
			activeHoursPerPerson:
				values["active-hours-per-person"] === undefined
					? undefined
					: Number(values["active-hours-per-person"]),
			postMs: fullRun.postMs,
			resent: fullRun.resent,
			endToEndMs: deliveredAt - started,
			cpu: {
				ingest:
					ingest.cpuMs === undefined ? undefined : ingest.cpuMs / sample.events,
				ingestAndEvents:
					eventsOnly.cpuMs === undefined
						? undefined
						: eventsOnly.cpuMs / sample.events,
				all:
					fullRun.cpuMs === undefined ? undefined : fullRun.cpuMs / load.events,
			},
			usage: sumUsage(fullRun.usage),
			eventsMessagesSeen: fullRun.usage
				.filter((line) => line.queue === "conduit-events")
				.reduce((sum, line) => sum + line.messages, 0),
			delivered: receivers.map((r) => ({
				events: r.received.size,
				requests: r.requests,
				retried: r.retried,
				duplicates: r.duplicates,
			})),
			state: {
				window: full.window ?? missing("window"),
				pruned: full.pruned ?? missing("pruned"),
				r2: full.r2 ?? {},
			},
			pruneRounds,
			split: {
				window: splitD1(full.window ?? missing("window")),
				pruned: splitD1(full.pruned ?? missing("pruned")),
			},
			r2: sumR2(full.r2 ?? {}),
			wallSeconds: (Date.now() - started) / 1000,
		};
		console.log(report(results));
		if (values.json)
			writeFileSync(values.json, JSON.stringify(results, null, 2));
		const lost = results.delivered.some(
			(d) => d.events < load.events || d.duplicates > 0,
		);
		if (lost) process.exitCode = 1;
	} finally {
		await Promise.all(receivers.map((r) => r.close()));
	}
}

function missing(what: string): never {
	throw new Error(`no ${what} measurement`);
}

const run_ = values.report
	? async () => {
			const saved = JSON.parse(
				readFileSync(values.report as string, "utf8"),
			) as Results;
			if (values["active-hours-per-person"] !== undefined)
				saved.activeHoursPerPerson = Number(values["active-hours-per-person"]);
			// Classified again, so a report written after a change of measure.ts reads the same run.
			saved.split = {
				window: splitD1(saved.state.window),
				pruned: splitD1(saved.state.pruned),
			};
			console.log(report(saved));
		}
	: main;

run_().catch((error: unknown) => {
	console.error(error instanceof Error ? error.stack : String(error));
	process.exitCode = 1;
});
