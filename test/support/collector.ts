import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

/** The slice of the D1 binding the tests use, as seen from Node. */
export interface D1Like {
	prepare(sql: string): {
		bind(...values: unknown[]): { all<T>(): Promise<{ results: T[] }> };
		all<T>(): Promise<{ results: T[] }>;
	};
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
export async function startCollector(): Promise<LocalCollector> {
	const harness = createTestHarness({
		root,
		workers: [{ configPath: "wrangler.toml" }],
	});
	const { url } = await harness.listen();
	const worker = harness.getWorker();
	await worker.applyD1Migrations("DB");
	const env = (await worker.getEnv()) as LocalCollector["env"];
	await env.CONFIG.put("config", JSON.stringify(devConfig));
	return { url, env, close: () => harness.close() };
}

/** Polls `query` until `done` holds, at most `timeoutMs`; returns the last result. */
export async function waitUntil<T>(
	query: () => Promise<T>,
	done: (value: T) => boolean,
	timeoutMs = 15_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await query();
		if (done(value) || Date.now() > deadline) return value;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}
