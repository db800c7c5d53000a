import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import { drainSpool } from "../src/ingest/spool";
import {
	received,
	script,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	WRITE_KEY,
	webhookEvents,
} from "./delivery-helpers";
import { D1_DOWN, faultyD1, faultyQueue } from "./faults";
import { useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";
import { SimQueue } from "./sim-queue";

/*
 * The whole pipeline inside workerd — ingest, spool, EVENTS consumer, DELIVERIES consumer, a
 * webhook receiver on localhost — with faults switched on and off between steps: D1 failing
 * for a while, the EVENTS queue refusing sends, a DELIVERIES send failing in the middle of a
 * fan-out, a consumer whose work is thrown away mid-batch, and a destination that times out.
 * The queues are in-memory stand-ins (sim-queue.ts) so a test can put faults between batches;
 * everything else is the real code on real local D1 and HTTP.
 */

/** Faults, switched by the test between steps. */
const faults = {
	/** D1 fails every round trip. */
	d1Down: false,
	/** D1 fails this many of the next round trips. */
	d1FailNext: 0,
	/** The EVENTS queue refuses every send. */
	eventsDown: false,
	/** The DELIVERIES queue refuses this many of the next sends. */
	deliveriesFailNext: 0,
};

function countdown(key: "d1FailNext" | "deliveriesFailNext"): boolean {
	if (faults[key] <= 0) return false;
	faults[key]--;
	return true;
}

describe("fault injection", () => {
	it("acknowledged = stored = delivered, none twice, through D1 outages, a refusing queue, a crashing consumer and a timing-out destination", {
		timeout: 90_000,
	}, async () => {
		const key = tenant();
		const destinationId = `hook-${key}`;
		await useConfig(
			testConfig([
				{
					id: destinationId,
					type: "webhook",
					ordering: "none",
					batchSize: 50,
					timeoutMs: 1000,
					retry: { maxAttempts: 20, baseDelaySeconds: 1, maxDelaySeconds: 1 },
					settings: { url: `${vendorUrl("webhook", key)}/in` },
				},
			]),
		);
		// The receiver: two requests it never answers in time, a 500 and a 429, then all is well.
		await script("webhook", key, [
			{ status: 503, delayMs: 1500 },
			{ status: 500 },
			{ status: 503, delayMs: 1500 },
			{ status: 429, headers: { "retry-after": "1" } },
		]);

		const dlq = new SimQueue("conduit-events-dlq", {
			maxBatch: 100,
			maxRetries: 100,
		});
		const events = new SimQueue("conduit-events", {
			maxBatch: 5,
			maxRetries: 10,
			dlq,
		});
		const deliveries = new SimQueue("conduit-deliveries", {
			maxBatch: 100,
			maxRetries: 60,
		});
		const db = faultyD1(env.DB, () =>
			faults.d1Down || countdown("d1FailNext") ? D1_DOWN() : undefined,
		);
		const eventsQueue = faultyQueue(events.producer<string>(), () =>
			faults.eventsDown
				? new Error("Queue send failed: Unknown Internal Error (15000)")
				: undefined,
		);
		const worker: Env = {
			...env,
			DB: db,
			EVENTS: eventsQueue,
			DELIVERIES: faultyQueue(deliveries.producer(), () =>
				countdown("deliveriesFailNext")
					? new Error("Queue sendBatch failed: Unknown Internal Error (15000)")
					: undefined,
			),
		};

		// Ingest: a client that keeps a batch until it gets a 2xx, and resends it later.
		const acknowledged = new Set<string>();
		const answers: Record<number, number> = {};
		const kept: Record<string, unknown>[][] = [];
		const post = async (batch: Record<string, unknown>[]) => {
			const response = await app.fetch(
				new Request("http://collector.test/v1/batch", {
					method: "POST",
					headers: {
						"content-type": "application/json",
						authorization: `Basic ${btoa(`${WRITE_KEY}:`)}`,
					},
					body: JSON.stringify({ batch }),
				}),
				worker,
			);
			answers[response.status] = (answers[response.status] ?? 0) + 1;
			if (response.status !== 200) {
				kept.push(batch);
				return;
			}
			const body = (await response.json()) as { rejected: unknown[] };
			expect(body.rejected).toEqual([]);
			for (const event of batch) acknowledged.add(String(event.messageId));
		};
		const requests = Array.from({ length: 12 }, (_, r) =>
			Array.from({ length: 25 }, (_, i) =>
				trackEvent({ userId: `user-${(r + i) % 7}` }),
			),
		);
		for (const batch of requests.slice(0, 4)) await post(batch);
		// The queue refuses: ingest spools to D1 and still answers 200.
		faults.eventsDown = true;
		for (const batch of requests.slice(4, 7)) await post(batch);
		// The queue refuses and D1 is down: 503, and the client keeps the batch.
		faults.d1Down = true;
		for (const batch of requests.slice(7, 9)) await post(batch);
		faults.d1Down = false;
		faults.eventsDown = false;
		for (const batch of requests.slice(9)) await post(batch);
		// The client resends what got a 503, and a batch whose 200 it never saw.
		for (const batch of kept.splice(0)) await post(batch);
		await post(requests[2] ?? []);

		// The spool drain: while the queue is down it moves and parks nothing; then all of it.
		faults.eventsDown = true;
		expect(await drainSpool(db, eventsQueue)).toBe(0);
		faults.eventsDown = false;
		const drained = await drainSpool(db, eventsQueue);

		// The consumers: D1 down for their first 3 round trips, a DELIVERIES send refused in
		// the middle of a fan-out, the work of the first EVENTS batch that gets through thrown
		// away after it ran, and D1 down again as deliveries start.
		faults.d1FailNext = 3;
		faults.deliveriesFailNext = 1;
		const runs = {
			events: 0,
			eventRetries: 0,
			crashed: 0,
			deliveries: 0,
			deliveryRetries: 0,
		};
		const deadline = Date.now() + 60_000;
		while (
			(events.messages.length > 0 || deliveries.messages.length > 0) &&
			Date.now() < deadline
		) {
			if (events.messages.length > 0) {
				runs.events++;
				const crash = runs.events === 3;
				const outcome = await events.deliver(worker, crash);
				runs.eventRetries += outcome.retried;
				if (crash) runs.crashed += outcome.retried;
				continue;
			}
			if (runs.deliveries === 0) faults.d1FailNext = 2;
			runs.deliveries++;
			runs.deliveryRetries += (await deliveries.deliver(worker)).retried;
		}

		// Accounting.
		const ids = [...acknowledged];
		// The events of record: an event in two objects would be listed twice.
		const stored = {
			results: (await recordsOf(ids)).map((r) => ({
				message_id: r.event.messageId,
				key: r.key,
			})),
		};
		const finished = await env.DB.prepare(
			`SELECT COUNT(*) AS n FROM seen
WHERE NOT EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner)`,
		).first<{ n: number }>();
		const log = await env.DB.prepare(
			`SELECT coalesce(SUM(events), 0) AS events, coalesce(SUM(delivered), 0) AS delivered,
  COUNT(*) AS batches, coalesce(SUM(status <> 'done'), 0) AS inFlight,
  (SELECT COUNT(*) FROM delivery_failures WHERE destination_id = ?1 AND status <> 'delivered') AS failures
FROM delivery_batches WHERE destination_id = ?1`,
		)
			.bind(destinationId)
			.first<{
				events: number;
				delivered: number;
				batches: number;
				inFlight: number;
				failures: number;
			}>();
		const requestsSeen = await received("webhook", key);
		// What the receiver took (2xx), and under which idempotency keys (webhook-id). A request
		// the sender timed out on may have been taken: it is sent again with the same key, which a
		// Standard Webhooks receiver deduplicates. "Twice" is an event taken under two keys.
		const keysOf = new Map<string, Set<string>>();
		let resent = 0;
		for (const request of requestsSeen) {
			if (request.status < 200 || request.status >= 300) continue;
			for (const event of webhookEvents([request])) {
				const keys = keysOf.get(String(event.messageId)) ?? new Set<string>();
				if (keys.size > 0) resent++;
				keys.add(request.headers["webhook-id"] ?? "");
				keysOf.set(String(event.messageId), keys);
			}
		}
		const takenTwice = [...keysOf.values()].filter((k) => k.size > 1).length;
		const parked = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM parked WHERE message_id IN (SELECT value FROM json_each(?1))",
		)
			.bind(JSON.stringify(ids))
			.first<{ n: number }>();
		const accounting = {
			sent: requests.flat().length,
			answers,
			acknowledged: acknowledged.size,
			spooledThenDrained: drained,
			stored: stored.results.length,
			objects: new Set(stored.results.map((r) => r.key)).size,
			unfinishedInWindow: finished?.n ?? 0,
			deliveryLog: log,
			receiver: {
				requests: requestsSeen.length,
				failedOrTimedOut: requestsSeen.filter((r) => r.status >= 300).length,
				eventsTaken: keysOf.size,
				resentWithTheSameKey: resent,
				takenTwice,
			},
			consumers: { ...runs, eventsDeadLettered: dlq.sent },
			parked: parked?.n ?? 0,
		};
		console.log(`fault injection accounting: ${JSON.stringify(accounting)}`);

		expect(acknowledged.size).toBe(300);
		expect(answers[503]).toBe(2);
		expect(stored.results.map((r) => r.message_id).sort()).toEqual(ids.sort());
		expect(accounting.unfinishedInWindow).toBe(0);
		// Every batch done, every event delivered once by the log's count, none failed.
		expect(log).toMatchObject({ delivered: 300, inFlight: 0, failures: 0 });
		expect(new Set(keysOf.keys())).toEqual(new Set(ids));
		expect(takenTwice).toBe(0);
		expect(accounting.receiver.failedOrTimedOut).toBe(4);
		expect(dlq.sent).toBe(0);
		expect(accounting.parked).toBe(0);
		// The faults did happen: retries on both queues, and a batch whose work was lost.
		expect(runs.eventRetries).toBeGreaterThan(0);
		expect(runs.crashed).toBeGreaterThan(0);
		expect(runs.deliveryRetries).toBeGreaterThan(0);
		expect(drained).toBe(3);
	});
});
