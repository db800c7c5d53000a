import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import { CRONS } from "../src/cron";
import { park } from "../src/db/parked";
import { spoolMessages } from "../src/db/spool";
import { app } from "../src/http/app";
import worker from "../src/index";
import { drainSpool } from "../src/ingest/spool";
import { uniqueId, useConfig } from "./helpers";

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
			"DB",
			"DELIVERIES",
			"EVENTS",
			"IDENTITY_CACHE",
			"RATE_LIMITER",
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
	it("deletes events received before the retention period and keeps the rest", async () => {
		const old = uniqueId();
		const recent = uniqueId();
		const insert = env.DB.prepare(
			"INSERT INTO events (source_id, message_id, queue_message_id, type, timestamp, received_at, payload) VALUES ('web', ?1, ?1, 'page', ?2, ?2, '{}')",
		);
		const days = Number(env.EVENT_RETENTION_DAYS);
		await env.DB.batch([
			insert.bind(
				old,
				new Date(Date.now() - (days + 1) * 86_400_000).toISOString(),
			),
			insert.bind(
				recent,
				new Date(Date.now() - (days - 1) * 86_400_000).toISOString(),
			),
		]);
		await worker.scheduled(
			createScheduledController({ cron: CRONS.retention }),
			env,
		);
		const { results } = await env.DB.prepare(
			"SELECT message_id FROM events WHERE message_id IN (?1, ?2)",
		)
			.bind(old, recent)
			.all<{ message_id: string }>();
		expect(results.map((row) => row.message_id)).toEqual([recent]);
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
