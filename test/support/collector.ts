import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { createTestHarness } from "wrangler";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The committed development config: source `web` with its documented write key. */
export const devConfig = JSON.parse(
	readFileSync(`${root}config/dev.json`, "utf8"),
) as {
	sources: { id: string; writeKey: string }[];
};
export const DEV_WRITE_KEY = devConfig.sources[0]?.writeKey ?? "";

export interface LocalCollector {
	url: URL;
	env: {
		DB: D1Like;
		CONFIG: { put(key: string, value: string): Promise<void> };
	};
	close(): Promise<void>;
}

interface D1Query {
	all<T>(): Promise<{ results: T[] }>;
	first<T>(): Promise<T | null>;
}

/** The slice of the D1 binding the tests use, as seen from Node. */
export interface D1Like {
	prepare(sql: string): D1Query & { bind(...values: unknown[]): D1Query };
}

export interface StartOptions {
	/** Replaces the `[[ratelimits]]` limit, e.g. so a benchmark's load is never limited. */
	rateLimit?: number;
	/** `false` starts the Worker without its queue consumer: events wait in the local queue. */
	consumer?: boolean;
	/** The config document to load into KV instead of config/dev.json. */
	config?: unknown;
	/** Worker secrets, as `.dev.vars` would set them (e.g. the development ADMIN_TOKEN). */
	secrets?: Record<string, string>;
}

/**
 * Starts the collector from wrangler.toml in workerd with fresh local D1, KV and Queues, applies
 * the migrations and loads the development config — what `npm run dev` does, on a free port.
 *
 * @example
 * const collector = await startCollector();
 * await fetch(new URL("/health", collector.url));
 * await collector.close();
 */
export async function startCollector(
	options: StartOptions = {},
): Promise<LocalCollector> {
	const harness = createTestHarness({ root, workers: [workerInput(options)] });
	const { url } = await harness.listen();
	const worker = harness.getWorker();
	await worker.applyD1Migrations("DB");
	const env = (await worker.getEnv()) as LocalCollector["env"];
	await env.CONFIG.put("config", JSON.stringify(options.config ?? devConfig));
	return { url, env, close: () => harness.close() };
}

function workerInput(options: StartOptions) {
	if (options.rateLimit === undefined && options.consumer !== false) {
		return { configPath: "wrangler.toml", secrets: options.secrets };
	}
	const config = parse(readFileSync(`${root}wrangler.toml`, "utf8")) as Record<
		string,
		unknown
	> & {
		ratelimits: { simple: { limit: number } }[];
		queues: { consumers?: unknown[] };
		vars?: Record<string, string>;
	};
	if (options.rateLimit !== undefined) {
		for (const limiter of config.ratelimits) {
			limiter.simple.limit = options.rateLimit;
		}
	}
	if (options.consumer === false) delete config.queues.consumers;
	if (options.secrets) config.vars = { ...config.vars, ...options.secrets };
	return { config };
}

/** Polls `query` every `everyMs` until `done` holds, at most `timeoutMs`; returns the last result. */
export async function waitUntil<T>(
	query: () => Promise<T>,
	done: (value: T) => boolean,
	timeoutMs = 15_000,
	everyMs = 100,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await query();
		if (done(value) || Date.now() > deadline) return value;
		await new Promise((resolve) => setTimeout(resolve, everyMs));
	}
}
