import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import { CRONS } from "../src/cron";
import { park } from "../src/db/parked";
import { PRUNE_RANGES, pruneWindow, seenKey } from "../src/db/seen";
import { spoolMessages } from "../src/db/spool";
import type { QueuedEvent } from "../src/event";
import { app } from "../src/http/app";
import worker from "../src/index";
import { drainSpool } from "../src/ingest/spool";
import { recordObjects } from "../src/records/records";
import { uniqueId, useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";

describe("GET /health", () => {
	it("reports the version and every binding as answering", async () => {
		await useConfig();
		const response = await exports.default.fetch(
			"http://collector.test/health",
		);
		expect(response.status).toBe(200);
		const body = (await response.json()) as {
			status: string;
			version: string;
			bindings: Record<string, { ok: boolean }>;
		};
		expect(body.status).toBe("ok");
		expect(body.version).toBe(pkg.version);
		expect(Object.keys(body.bindings).sort()).toEqual([
			"CONFIG",
			"CONSOLE_LIVE",
			"DB",
			"DELIVERIES",
			"EVENTS",
			"IDENTITY_CACHE",
			"RATE_LIMITER",
			"RECORDS",
		]);
		expect(Object.values(body.bindings).every((check) => check.ok)).toBe(true);
	});

	it("answers 503 and names the failing binding", async () => {
		const response = await app.fetch(
			new Request("http://collector.test/health"),
			{
				...env,
				DB: env.UNMIGRATED_DB,
				CONFIG: { get: async () => null } as unknown as KVNamespace,
			},
		);
		expect(response.status).toBe(503);
		const body = (await response.json()) as {
			status: string;
			bindings: Record<string, { ok: boolean; error?: string }>;
		};
		expect(body.status).toBe("degraded");
		// The unmigrated database still answers SELECT 1; the missing config does not pass.
		expect(body.bindings.DB?.ok).toBe(true);
		expect(body.bindings.CONFIG).toMatchObject({
			ok: false,
			error: "no config in key 'config'",
		});
	});
});

describe("GET /health: parked rows", () => {
	it("counts the rows waiting for an operator per kind, and stays green with them", async () => {
		await useConfig();
		const read = async () => {
			const response = await exports.default.fetch(
				"http://collector.test/health",
			);
			return {
				status: response.status,
				body: (await response.json()) as {
					status: string;
					parked: { event: number; delivery: number };
				},
			};
		};
		const before = await read();
		await park(
			env.DB,
			[
				{
					kind: "event",
					sourceId: "web",
					messageId: uniqueId(),
					reason: "storage_refused",
					error: "malformed JSON",
					payload: "{}",
				},
				{
					kind: "delivery",
					sourceId: "web",
					messageId: uniqueId(),
					destinationId: "hooks",
					reason: "delivery_dead",
					error: "HTTP 400",
					payload: "{}",
				},
			],
			new Date(),
		);
		const after = await read();
		expect(after.status).toBe(200);
		expect(after.body.status).toBe("ok");
		expect(after.body.parked).toEqual({
			event: before.body.parked.event + 1,
			delivery: before.body.parked.delivery + 1,
		});
	});
});

describe("retention", () => {
	it("deletes the events-of-record partitions older than the retention period and keeps the rest", async () => {
		const days = Number(env.EVENT_RETENTION_DAYS);
		const at = (offsetDays: number) =>
			new Date(Date.now() - offsetDays * 86_400_000).toISOString();
		const event = (messageId: string, receivedAt: string): QueuedEvent => ({
			sourceId: "web",
			event: {
				type: "page",
				messageId,
				timestamp: receivedAt,
				receivedAt,
				context: {},
			},
		});
		const old = uniqueId();
		const recent = uniqueId();
		const objects = await recordObjects([
			event(old, at(days + 1)),
			event(recent, at(days - 1)),
		]);
		for (const o of objects) await env.RECORDS.put(o.key, o.body);
		await worker.scheduled(
			createScheduledController({ cron: CRONS.retention }),
			env,
		);
		const left = await recordsOf([old, recent]);
		expect(left.map((r) => r.event.messageId)).toEqual([recent]);
		const oldFolder = objects
			.find((o) => o.key !== left[0]?.key)
			?.key.replace(/[^/]+$/, "");
		expect(
			(await env.RECORDS.list({ prefix: oldFolder })).objects,
		).toHaveLength(0);
	});
});

describe("the deduplication window", () => {
	it("is pruned in key ranges: rows past the window go, whatever their key, and newer ones stay", async () => {
		await env.DB.prepare("DELETE FROM seen").run();
		const now = Math.floor(Date.now() / 1000);
		const hours = Number(env.DEDUP_WINDOW_HOURS);
		const old = now - (hours + 1) * 3600;
		const recent = now - (hours - 1) * 3600;
		// Keys spread over the whole signed 64-bit space, both ends included.
		const keys = await Promise.all(
			Array.from({ length: 200 }, (_, i) => seenKey("web", `prune-${i}`)),
		);
		keys.push("-9223372036854775808", "9223372036854775807");
		const insert = env.DB.prepare(
			"INSERT INTO seen (key, owner, claimed_at) VALUES (CAST(?1 AS INTEGER), 7, ?2)",
		);
		await env.DB.batch(
			keys.map((key, i) => insert.bind(key, i % 2 === 0 ? old : recent)),
		);
		const before = new Date(Date.now() - hours * 3_600_000);
		const first = await pruneWindow(env.DB, before);
		// One run prunes a few ranges only.
		expect(first.seen).toBeGreaterThan(0);
		expect(first.seen).toBeLessThan(keys.length / 2);
		let runs = 1;
		while (runs * 4 < PRUNE_RANGES) {
			await pruneWindow(env.DB, before);
			runs++;
		}
		const left = await env.DB.prepare(
			"SELECT claimed_at, COUNT(*) AS n FROM seen GROUP BY claimed_at",
		).all<{ claimed_at: number; n: number }>();
		expect(left.results).toEqual([{ claimed_at: recent, n: keys.length / 2 }]);
	});
});

describe("spool drain", () => {
	it("moves spooled messages oldest first and keeps a refused row that nothing after it proves unsendable", async () => {
		await env.DB.prepare("DELETE FROM ingest_spool").run();
		await spoolMessages(env.DB, ["first", "second", "third"], new Date());
		const sent: string[] = [];
		const flaky = {
			send: async (body: string) => {
				if (sent.length === 2) throw new Error("queue busy");
				sent.push(body);
			},
		} as unknown as Queue<string>;
		expect(await drainSpool(env.DB, flaky)).toBe(2);
		expect(sent).toEqual(["first", "second"]);
		const { results } = await env.DB.prepare(
			"SELECT body FROM ingest_spool",
		).all<{ body: string }>();
		expect(results.map((row) => row.body)).toEqual(["third"]);
	});
});
