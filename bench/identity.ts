/**
 * Identity resolution benchmark: `npm run bench:identity`.
 *
 * Runs the collector Worker locally in workerd (wrangler's test harness: the real bindings,
 * local D1 and KV), pre-loads 100,000 identities (25,000 profiles) into D1, then hands the
 * fixture events to the Worker's real queue handler (store → identity → mark processed) in
 * batches of 100, as the EVENTS queue would:
 *
 * - cold: people never seen before, in a freshly started isolate (empty LRU, empty KV);
 * - warm: the same people again (new messageIds), same isolate: identities in the LRU;
 * - warm KV, new isolate: the Worker reloaded, so only KV knows the identities;
 * - known in D1 only: KV emptied and the Worker reloaded, so every batch reads the graph.
 *
 * Each phase replays the 624 fixture events ROUNDS times, with identifiers renamed per round so
 * that every round of the cold phase is new people. events/s is wall time from dispatching a
 * batch to its acknowledgement (KV cache writes run after it, in waitUntil, and are let to
 * finish between phases); D1 round trips are what the identity stage reports per batch in its
 * log line (the consumer makes two more per batch: storing, and marking processed).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createTestHarness } from "wrangler";

// Everything stays on this machine: no fetch of a real `request.cf` object.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(ROOT, "test/fixtures/events.ndjson");
const PRELOADED_PROFILES = 25_000; // four identities each: 100,000
const ROUNDS = 5;
const BATCH = 100;
const QUEUE = "conduit-events";

interface Phase {
	name: string;
	events: number;
	batches: number;
	ms: number;
	identityD1Calls: number;
	reads: number;
	attempts: number;
	memoryHits: number;
	kvHits: number;
}

type Json = Record<string, unknown>;

/** The parts of the Worker's bindings and queue handler the benchmark drives (typed here, as
 * this script type-checks against Node's types, not the Workers runtime's). */
interface Statement {
	bind(...values: unknown[]): Statement;
	first<T>(column: string): Promise<T | null>;
}
interface BenchEnv {
	DB: {
		prepare(sql: string): Statement;
		batch(statements: Statement[]): Promise<unknown>;
	};
	CONFIG: { put(key: string, value: string): Promise<void> };
	IDENTITY_CACHE: {
		list(options: {
			cursor?: string;
		}): Promise<{ keys: unknown[]; list_complete: boolean; cursor?: string }>;
		delete(key: string): Promise<void>;
	};
}
interface QueueHandler {
	queue(queue: string, messages: unknown[]): Promise<{ ackAll: boolean }>;
}

const fixture: Json[] = readFileSync(FIXTURE, "utf8")
	.split("\n")
	.filter((line) => line.trim() !== "")
	.map((line) => JSON.parse(line));

const options = {
	root: ROOT,
	workers: [
		{
			configPath: "./wrangler.toml",
			secrets: { ADMIN_TOKEN: "bench-admin-token-0123456789abcdef" },
		},
	],
};
const server = createTestHarness(options);
try {
	await server.listen();
	await seed();
	const cold = await run("cold (new people, empty cache)", "first");
	const warm = await run("warm (LRU)", "again");
	await server.update(options); // a new isolate; D1 and KV are kept
	const kv = await run("warm KV, new isolate", "once more");
	await flushKv();
	await server.update(options);
	const d1 = await run("known in D1 only, empty cache", "and again");
	report([cold, warm, kv, d1]);
} finally {
	await server.close();
}

/** 25,000 profiles with a user_id, two anonymous ids and an email each, and the config. */
async function seed() {
	const started = performance.now();
	const worker = server.getWorker();
	await worker.applyD1Migrations("DB");
	const env = (await worker.getEnv()) as BenchEnv;
	const db = env.DB;
	const at = "2026-10-01T00:00:00.000Z";
	const chunk = 2_500;
	for (let from = 0; from < PRELOADED_PROFILES; from += chunk) {
		const ids: string[] = [];
		const identities: string[][] = [];
		for (let i = from; i < Math.min(from + chunk, PRELOADED_PROFILES); i++) {
			const id = `prof_seed_${String(i).padStart(6, "0")}`;
			ids.push(id);
			identities.push(
				["user_id", `seed_user_${i}`, id],
				["anonymous_id", `seed_anon_${i}_a`, id],
				["anonymous_id", `seed_anon_${i}_b`, id],
				["email", `seed${i}@example.com`, id],
			);
		}
		await db.batch([
			db
				.prepare(
					"INSERT INTO profiles (id, created_at, updated_at) SELECT value, ?2, ?2 FROM json_each(?1)",
				)
				.bind(JSON.stringify(ids), at),
			db
				.prepare(
					"INSERT INTO identities (type, value, profile_id, created_at) SELECT value ->> 0, value ->> 1, value ->> 2, ?2 FROM json_each(?1)",
				)
				.bind(JSON.stringify(identities), at),
		]);
	}
	const count = await db
		.prepare("SELECT COUNT(*) AS n FROM identities")
		.first<number>("n");
	const config = {
		version: 1,
		sources: [{ id: "web", writeKey: "wk_bench_web_0123456789" }],
		destinations: [],
	};
	await env.CONFIG.put("config", JSON.stringify(config));
	console.log(
		`pre-loaded ${count} identities in ${((performance.now() - started) / 1000).toFixed(1)} s`,
	);
}

/** The fixture events of one round, with identifiers renamed per round and new messageIds. */
function round(n: number, pass: string): Json[] {
	const rename = (value: unknown) =>
		typeof value === "string" ? `${value}~${n}` : value;
	return fixture.map((raw) => {
		const event: Json = structuredClone(raw);
		event.messageId = `${raw.messageId}~${n}~${pass}`;
		event.userId = rename(raw.userId);
		event.anonymousId = rename(raw.anonymousId);
		const traits = event.traits as Json | undefined;
		if (raw.type === "identify" && traits && typeof traits.email === "string")
			traits.email = `r${n}.${traits.email}`;
		for (const key of Object.keys(event))
			if (event[key] === undefined) delete event[key];
		return event;
	});
}

async function run(name: string, pass: string): Promise<Phase> {
	server.clearLogs();
	const handler = (await server
		.getWorker()
		.getExport()) as unknown as QueueHandler;
	let ms = 0;
	let events = 0;
	let batches = 0;
	for (let n = 1; n <= ROUNDS; n++) {
		const all = round(n, pass);
		for (let i = 0; i < all.length; i += BATCH) {
			const receivedAt = new Date();
			const messages = all.slice(i, i + BATCH).map((event, j) => ({
				id: `${pass}-${n}-${i + j}`,
				timestamp: receivedAt,
				attempts: 1,
				body: {
					sourceId: "web",
					events: [
						{
							...event,
							receivedAt: receivedAt.toISOString(),
							context: event.context ?? {},
						},
					],
				},
			}));
			const started = performance.now();
			const result = await handler.queue(QUEUE, messages);
			ms += performance.now() - started;
			if (!result.ackAll)
				throw new Error(`batch not acknowledged: ${JSON.stringify(result)}`);
			events += messages.length;
			batches++;
		}
	}
	const stats = await batchLogs(batches);
	await cacheWritesSettled();
	return {
		name,
		events,
		batches,
		ms,
		identityD1Calls: sum(stats, "d1Calls"),
		reads: sum(stats, "reads"),
		attempts: sum(stats, "attempts"),
		memoryHits: sum(stats, "memoryHits"),
		kvHits: sum(stats, "kvHits"),
	};
}

/** The identity stats of every batch's log line (they arrive through workerd's output). */
async function batchLogs(batches: number): Promise<Json[]> {
	const deadline = Date.now() + 10_000;
	for (;;) {
		const lines: Json[] = [];
		for (const log of server.getLogs()) {
			if (!log.message.includes('"events stored"')) continue;
			lines.push((JSON.parse(log.message) as Json).identity as Json);
		}
		if (lines.length >= batches) return lines;
		if (Date.now() > deadline)
			throw new Error(`saw ${lines.length} of ${batches} batch logs`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Deletes every identity cache entry, as if KV had been flushed. */
async function flushKv() {
	const kv = ((await server.getWorker().getEnv()) as BenchEnv).IDENTITY_CACHE;
	for (;;) {
		const page = await kv.list({});
		if (page.keys.length === 0) return;
		await Promise.all(
			page.keys.map((key) => kv.delete((key as { name: string }).name)),
		);
	}
}

/**
 * The consumer writes the KV cache in `ctx.waitUntil`, after acknowledging a batch. Locally
 * those writes are slow enough to spill into the next phase, so wait until the number of KV
 * keys stops changing.
 */
async function cacheWritesSettled() {
	const kv = ((await server.getWorker().getEnv()) as BenchEnv).IDENTITY_CACHE;
	let last = -1;
	for (let stable = 0; stable < 3; ) {
		let count = 0;
		let cursor: string | undefined;
		do {
			const page = await kv.list(cursor ? { cursor } : {});
			count += page.keys.length;
			cursor = page.list_complete ? undefined : page.cursor;
		} while (cursor);
		stable = count === last ? stable + 1 : 0;
		last = count;
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

function sum(lines: Json[], key: string): number {
	return lines.reduce((total, line) => total + Number(line[key] ?? 0), 0);
}

function report(phases: Phase[]) {
	const rows = phases.map((p) => [
		p.name,
		String(p.events),
		String(p.batches),
		(p.events / (p.ms / 1000)).toFixed(0),
		(p.identityD1Calls / p.batches).toFixed(2),
		(p.identityD1Calls / p.events).toFixed(4),
		String(p.reads),
		String(p.attempts - p.batches),
		`${p.memoryHits}/${p.kvHits}`,
	]);
	const head = [
		"phase",
		"events",
		"batches",
		"events/s",
		"D1/batch",
		"D1/event",
		"reads",
		"retries",
		"LRU/KV hits",
	];
	const widths = head.map((h, i) =>
		Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
	);
	const line = (cells: string[]) =>
		cells
			.map((c, i) =>
				i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
			)
			.join("  ");
	console.log(
		`\nIdentity resolution, ${PRELOADED_PROFILES * 4} identities pre-loaded, batches of ${BATCH}`,
	);
	console.log(
		"(events/s: whole consumer batch; D1: identity stage round trips)\n",
	);
	console.log(line(head));
	for (const row of rows) console.log(line(row));
}
