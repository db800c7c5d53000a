import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parse, stringify } from "smol-toml";
import { push } from "../../scripts/config";
import {
	ROOT,
	runWrangler,
	targetFlags,
	wrangler,
} from "../../scripts/wrangler";
import type { UsageLine } from "./measure";

const CONFIG = join(ROOT, "wrangler.toml");

/** Which queue consumers the Worker runs: all, none (ingest only), or only EVENTS'. */
export type Consumers = "all" | "none" | "events";

/** A `wrangler dev` we started, and the usage lines its consumers logged. */
export interface Dev {
	base: string;
	pid: number;
	/** The wrangler.toml it runs (the repository's, or a copy with fewer consumers). */
	configPath: string;
	readonly usage: UsageLine[];
	/** Date.now() of the last usage line. */
	readonly lastUsageAt: number;
	/** Runs a scheduled event (a cron expression of wrangler.toml) at `time`. */
	scheduled(cron: string, time: Date): Promise<void>;
	stop(): Promise<void>;
}

/**
 * wrangler.toml as is, or a copy in `state` without some queue consumers (absolute paths, so
 * it can live outside the repository): with none, events wait in the local queue, which is how
 * ingest's CPU is measured on its own.
 *
 * @example
 * configFor("none", "/tmp/state") // "/tmp/state/wrangler.toml"
 */
export function configFor(consumers: Consumers, state: string): string {
	if (consumers === "all") return CONFIG;
	const config = parse(readFileSync(CONFIG, "utf8")) as Record<
		string,
		unknown
	> & {
		main: string;
		d1_databases: { migrations_dir?: string }[];
		queues: { consumers?: { queue: string }[] };
	};
	config.main = resolve(ROOT, config.main);
	for (const db of config.d1_databases)
		if (db.migrations_dir) db.migrations_dir = resolve(ROOT, db.migrations_dir);
	if (consumers === "none") delete config.queues.consumers;
	else
		config.queues.consumers = config.queues.consumers?.filter(
			(c) => !c.queue.includes("deliveries"),
		);
	const path = join(state, "wrangler.toml");
	writeFileSync(path, stringify(config));
	return path;
}

/**
 * Applies the migrations to a fresh local state, loads `configDocument` into its KV, and
 * starts `wrangler dev` on `port` with it; resolves once /health answers (at most 90 s).
 * Worker logs are read line by line: each consumer invocation's usage line is kept.
 *
 * @example
 * const dev = await startDev({ state, port: 8790, consumers: "all", configDocument, vars: {} });
 */
export async function startDev(options: {
	state: string;
	port: number;
	consumers: Consumers;
	configDocument: string;
	vars: Record<string, string>;
}): Promise<Dev> {
	const configPath = configFor(options.consumers, options.state);
	const target = { remote: false, persistTo: options.state };
	const config = ["--config", configPath];
	wrangler([
		"d1",
		"migrations",
		"apply",
		"DB",
		...targetFlags(target),
		...config,
	]);
	const document = join(options.state, "conduit.json");
	writeFileSync(document, options.configDocument);
	const pushed = push(document, target, (args, o) =>
		runWrangler([...args, ...config], o),
	);
	if (pushed.code !== 0) throw new Error(pushed.out);
	const child: ChildProcess = spawn(
		process.execPath,
		[
			join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
			"dev",
			...config,
			"--ip",
			"127.0.0.1",
			"--port",
			String(options.port),
			"--persist-to",
			options.state,
			"--show-interactive-dev-session=false",
			...Object.entries(options.vars).flatMap(([k, v]) => [
				"--var",
				`${k}:${v}`,
			]),
		],
		{
			cwd: ROOT,
			stdio: ["ignore", "pipe", "pipe"],
			detached: true,
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
		},
	);
	const usage: UsageLine[] = [];
	let lastUsageAt = Date.now();
	const errors: string[] = [];
	// BENCH_SCALE_LOG=<file> keeps wrangler's whole output, to see what the Worker logged.
	const keep = process.env.BENCH_SCALE_LOG;
	for (const stream of [child.stdout, child.stderr])
		if (stream)
			createInterface({ input: stream }).on("line", (line) => {
				if (keep) appendFileSync(keep, `${line}\n`);
				const at = line.indexOf('{"msg":"usage"');
				if (at >= 0) {
					usage.push(JSON.parse(line.slice(at)) as UsageLine);
					lastUsageAt = Date.now();
				} else if (/error/i.test(line) && errors.length < 20) errors.push(line);
			});
	const pid = child.pid ?? 0;
	const base = `http://127.0.0.1:${options.port}`;
	const stop = async () => {
		if (child.exitCode !== null) return;
		const exited = new Promise((done) => child.once("exit", done));
		process.kill(-pid, "SIGTERM");
		await Promise.race([exited, sleep(10_000)]);
	};
	const deadline = Date.now() + 90_000;
	for (;;) {
		const ok = await fetch(`${base}/health`)
			.then((r) => r.status === 200)
			.catch(() => false);
		if (ok) break;
		if (child.exitCode !== null || Date.now() > deadline) {
			await stop();
			throw new Error(`wrangler dev did not start:\n${errors.join("\n")}`);
		}
		await sleep(500);
	}
	return {
		base,
		pid,
		configPath,
		usage,
		get lastUsageAt() {
			return lastUsageAt;
		},
		async scheduled(cron, time) {
			const url = `${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}&time=${time.getTime()}`;
			const response = await fetch(url);
			await response.arrayBuffer();
			if (!response.ok)
				throw new Error(`scheduled ${cron} answered ${response.status}`);
		},
		stop,
	};
}

/** Resolves after `ms`. @example await sleep(100); */
export function sleep(ms: number): Promise<void> {
	return new Promise((done) => setTimeout(done, ms));
}
