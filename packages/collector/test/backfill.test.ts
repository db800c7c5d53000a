import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load";
import { CRONS } from "../src/cron";
import { getBackfill, insertBackfill } from "../src/db/backfills";
import { sendBackfillStep } from "../src/delivery/backfill";
import worker from "../src/index";
import { scanStep, startCursor } from "../src/records/scan";
import {
	adminFetch,
	batchesOf,
	deliveredCount,
	postBatch,
	received,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
import { waitForRecords } from "./helpers/records";

const OTHER_KEY = "wk_test_other_0123456789";
/** Trips through the real queues (1 s batch windows), twice in some tests. */
const QUEUE_TEST_MS = 30_000;

/** The test config: `web` and a second source, `other`, and the given destinations. */
function config(destinations: unknown[]) {
	const base = testConfig(destinations);
	return {
		...base,
		sources: [
			...base.sources,
			{
				id: "other",
				writeKey: OTHER_KEY,
				allowedOrigins: [],
				rateLimit: false,
			},
		],
	};
}

const start = (body: unknown, token?: string) =>
	adminFetch(
		"/admin/backfills",
		{ method: "POST", body: JSON.stringify(body) },
		token,
	);

interface Job {
	id: number;
	status: string;
	error: string | null;
	eventsRead: number;
	eventsSent: number;
	objectsScanned: number;
	steps: number;
	startedAt: string | null;
	finishedAt: string | null;
}

async function job(id: number): Promise<Job> {
	const response = await adminFetch(`/admin/backfills/${id}`);
	return ((await response.json()) as { backfill: Job }).backfill;
}

/** Waits for a job to finish, running the minute cron between looks as production would. */
async function finished(id: number): Promise<Job> {
	return waitFor(async () => {
		const current = await job(id);
		if (current.status !== "running") return current;
		await worker.scheduled(
			createScheduledController({
				cron: CRONS.drainSpool,
				scheduledTime: Date.now(),
			}),
			env,
		);
		return false;
	}, 10_000);
}

/** Posts events as `web` (or as `other`) and waits until they are events of record. */
async function stored(events: Record<string, unknown>[], writeKey?: string) {
	const response = writeKey
		? await exports.default.fetch("http://collector.test/v1/batch", {
				method: "POST",
				headers: {
					"content-type": "application/json",
					authorization: `Basic ${btoa(`${writeKey}:`)}`,
				},
				body: JSON.stringify({ batch: events }),
			})
		: await postBatch(events);
	expect(response.status).toBe(200);
	const ids = events.map((e) => e.messageId as string);
	expect(await waitForRecords(ids)).toHaveLength(ids.length);
}

/** A webhook destination at the local vendor server, taking only events with marketing consent. */
function webhook(id: string, key: string) {
	return {
		id,
		type: "webhook",
		consent: ["marketing"],
		filters: { events: { exclude: ["Internal Ping"] } },
		settings: { url: `${vendorUrl("webhook", key)}/in` },
	};
}

/** A fresh tenant with the two sources and {@link webhook} as its one destination. */
async function useHook(): Promise<{ key: string; id: string }> {
	const key = tenant();
	const id = `hook-${key}`;
	await useConfig(config([webhook(id, key)]));
	return { key, id };
}

/** Each request's webhook-id and the messageIds it carried. */
async function requestsAt(key: string) {
	return (await received("webhook", key)).map((r) => ({
		webhookId: r.headers["webhook-id"],
		ids: webhookEvents([r]).map((e) => e.messageId as string),
	}));
}

/** Stores events before, inside and after a range, of both sources; returns the range and ids. */
async function history() {
	await useConfig(config([]));
	const before = [trackEvent()];
	await stored(before);
	const from = new Date().toISOString();
	const wanted = [trackEvent(), trackEvent({ event: "Order Completed" })];
	const filtered = trackEvent({ event: "Internal Ping" });
	const denied = trackEvent({
		context: {
			consent: { categoryPreferences: { necessary: true, marketing: false } },
		},
	});
	await stored([...wanted, filtered, denied]);
	const ofOther = [trackEvent()];
	await stored(ofOther, OTHER_KEY);
	const to = new Date().toISOString();
	const after = [trackEvent()];
	await stored(after);
	return {
		from,
		to,
		wanted: wanted.map((e) => e.messageId as string),
		ofOther: ofOther.map((e) => e.messageId as string),
		left: [...before, filtered, denied, ...after].map(
			(e) => e.messageId as string,
		),
	};
}

describe("destination backfill", () => {
	it("sends a destination added later each stored event of the range once, by its own routing rules", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const past = await history();
		const { key, id } = await useHook();

		const response = await start({
			destination: id,
			from: past.from,
			to: past.to,
			sources: ["web"],
		});
		expect(response.status).toBe(202);
		const created = (await response.json()) as { backfill: Job };
		expect(created.backfill).toMatchObject({
			status: "running",
			destinationId: id,
			sources: ["web"],
			eventsSent: 0,
		});
		// The request runs the first steps in the background: a small job ends with no cron.
		const done = await waitFor(async () => {
			const current = await job(created.backfill.id);
			return current.status !== "running" && current;
		}, 8000);
		expect(done).toMatchObject({
			status: "done",
			eventsRead: 4,
			eventsSent: 2,
		});
		expect(done.objectsScanned).toBeGreaterThan(0);
		expect(done.finishedAt).not.toBeNull();

		await waitFor(async () => (await deliveredCount(id)) === 2, 8000);
		const ids = (await requestsAt(key)).flatMap((r) => r.ids);
		expect(ids.sort()).toEqual([...past.wanted].sort());
		for (const left of [...past.left, ...past.ofOther])
			expect(ids).not.toContain(left);
	});

	it("sends nothing twice when run twice: the second run's batches carry the first run's webhook-ids", {
		timeout: QUEUE_TEST_MS * 2,
	}, async () => {
		const past = await history();
		const { key, id } = await useHook();
		const range = { destination: id, from: past.from, to: past.to };

		const first = (await (await start(range)).json()) as { backfill: Job };
		expect(await finished(first.backfill.id)).toMatchObject({
			status: "done",
			eventsSent: 3,
		});
		await waitFor(async () => (await deliveredCount(id)) === 3, 8000);
		const second = (await (await start(range)).json()) as { backfill: Job };
		expect(second.backfill.id).not.toBe(first.backfill.id);
		expect(await finished(second.backfill.id)).toMatchObject({
			status: "done",
			eventsSent: 3,
		});
		await waitFor(async () => (await deliveredCount(id)) === 6, 8000);

		const requests = await requestsAt(key);
		// Both runs sent (sources default to all: web's two and other's one)…
		expect(requests.flatMap((r) => r.ids).sort()).toEqual(
			[...past.wanted, ...past.ofOther, ...past.wanted, ...past.ofOther].sort(),
		);
		// …and a receiver that drops a webhook-id it has seen (Standard Webhooks) takes each
		// event once: every event came under one webhook-id only, with the same companions.
		const byWebhookId = new Map<string, string>();
		for (const r of requests) {
			const ids = JSON.stringify([...r.ids].sort());
			expect(byWebhookId.get(r.webhookId ?? "") ?? ids).toBe(ids);
			byWebhookId.set(r.webhookId ?? "", ids);
		}
		const once = [...byWebhookId.values()].flatMap(
			(ids) => JSON.parse(ids) as string[],
		);
		expect(once.sort()).toEqual([...past.wanted, ...past.ofOther].sort());
		expect(requests.length).toBe(2 * byWebhookId.size);
	});

	it("does a step cut short after queuing again without sending anything twice", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const past = await history();
		const { key, id } = await useHook();
		const created = await insertBackfill(
			env.DB,
			{
				kind: "destination",
				destinationId: id,
				sources: ["web"],
				from: new Date(past.from),
				to: new Date(past.to),
			},
			new Date(),
		);
		// The step's work, queued by a run that died before recording it.
		const step = await scanStep(
			env.RECORDS,
			{
				from: new Date(past.from),
				to: new Date(past.to),
				sources: ["web"],
			},
			startCursor(),
		);
		const loaded = await loadConfig(env);
		expect(
			await sendBackfillStep(env, loaded, created, step.events, new Date()),
		).toBe(2);
		await waitFor(async () => (await deliveredCount(id)) === 2, 8000);
		const batchKeys = (await batchesOf(id)).map((b) => b.batch_key);

		// The job's cursor did not move: the next run does the same step again.
		expect((await getBackfill(env.DB, created.id))?.cursor).toEqual(
			startCursor(),
		);
		expect(await finished(created.id)).toMatchObject({
			status: "done",
			eventsSent: 2,
		});
		// Same batches, which the log has as done: the consumer sends none of them again.
		await waitFor(async () => {
			const batches = await batchesOf(id);
			return batches.every((b) => b.status === "done") && batches;
		});
		expect((await batchesOf(id)).map((b) => b.batch_key)).toEqual(batchKeys);
		await new Promise((resolve) => setTimeout(resolve, 2500));
		const ids = (await requestsAt(key)).flatMap((r) => r.ids);
		expect(ids.sort()).toEqual([...past.wanted].sort());
	});

	it("answers bad requests with a clear 4xx", async () => {
		const key = tenant();
		const id = `hook-${key}`;
		await useConfig(
			config([
				webhook(id, key),
				{ ...webhook(`off-${key}`, key), enabled: false },
			]),
		);
		const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
		const now = new Date().toISOString();
		const cases: [unknown, number, string][] = [
			[
				{ destination: "nope", from: hourAgo, to: now },
				404,
				"unknown_destination",
			],
			[
				{ destination: `off-${key}`, from: hourAgo, to: now },
				409,
				"destination_disabled",
			],
			[{ destination: id, from: now, to: hourAgo }, 400, "bad_range"],
			[
				{
					destination: id,
					from: hourAgo,
					to: new Date(Date.now() + 3_600_000).toISOString(),
				},
				400,
				"bad_range",
			],
			[
				{
					destination: id,
					from: new Date(Date.now() - 31 * 86_400_000).toISOString(),
					to: now,
				},
				400,
				"range_over_retention",
			],
			[{ destination: id, from: "yesterday", to: now }, 400, "invalid_request"],
			[
				{ destination: id, from: hourAgo, to: now, sources: ["nope"] },
				400,
				"unknown_source",
			],
			[
				{ destination: id, from: hourAgo, to: now, extra: 1 },
				400,
				"invalid_request",
			],
		];
		for (const [body, status, code] of cases) {
			const response = await start(body);
			expect([
				response.status,
				((await response.json()) as { error: string }).error,
			]).toEqual([status, code]);
		}
		expect((await start({}, "wrong-token-0123456789abcdefghijkl")).status).toBe(
			401,
		);
		const missing = await adminFetch("/admin/backfills/999999");
		expect(missing.status).toBe(404);
		expect((await adminFetch("/admin/backfills/abc")).status).toBe(400);
	});

	it("lists jobs newest first and cancels a running one", async () => {
		const { id } = await useHook();
		const range = {
			kind: "destination" as const,
			destinationId: id,
			sources: ["web"],
			from: new Date(Date.now() - 60_000),
			to: new Date(),
		};
		const a = await insertBackfill(env.DB, range, new Date());
		const b = await insertBackfill(env.DB, range, new Date());
		const list = (await (
			await adminFetch("/admin/backfills?limit=2")
		).json()) as {
			backfills: Job[];
			next?: number;
		};
		expect(list.backfills.map((j) => j.id)).toEqual([b.id, a.id]);
		expect(list.next).toBe(a.id);
		const cancelled = await adminFetch(`/admin/backfills/${a.id}`, {
			method: "DELETE",
		});
		expect(cancelled.status).toBe(200);
		expect(await job(a.id)).toMatchObject({ status: "cancelled" });
		const again = await adminFetch(`/admin/backfills/${a.id}`, {
			method: "DELETE",
		});
		expect(again.status).toBe(409);
		// A job whose destination left the config fails with the reason.
		await useConfig(config([]));
		expect(await finished(b.id)).toMatchObject({
			status: "failed",
			error: `destination '${id}' is no longer an enabled destination of the config`,
		});
	});
});
