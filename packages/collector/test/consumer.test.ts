import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../src/event";
import worker from "../src/index";
import { pack } from "../src/ingest/message";
import { uniqueId, useConfig } from "./helpers";

// The consumer reads the config (identity settings, destinations) for every batch.
beforeAll(() => useConfig());

function event(
	messageId: string,
	extra: Partial<EnrichedEvent> = {},
): EnrichedEvent {
	const now = new Date().toISOString();
	return {
		type: "track",
		event: "Order Completed",
		userId: "u1",
		messageId,
		timestamp: now,
		receivedAt: now,
		context: {},
		...extra,
	};
}

/** A queue message body exactly as ingest writes it. */
function queued(messageIds: string | string[], sourceId = "web"): string {
	const ids = Array.isArray(messageIds) ? messageIds : [messageIds];
	const [body] = pack(
		sourceId,
		ids.map((id) => JSON.stringify(event(id))),
	);
	return body ?? "";
}

/** The same events as a JSON object, as a replay may send them. */
function queuedObject(messageId: string) {
	return { sourceId: "web", events: [event(messageId)] };
}

async function deliver(
	messages: { id: string; body: unknown; attempts?: number }[],
	bindings: Env = env,
) {
	const batch = createMessageBatch<unknown>(
		"conduit-events",
		messages.map((m) => ({
			id: m.id,
			timestamp: new Date(),
			attempts: m.attempts ?? 1,
			body: m.body,
		})),
	);
	// The test batch records retries but not their options: keep what the consumer asked for.
	const retryOptions: (QueueRetryOptions | undefined)[] = [];
	const retryAll = batch.retryAll.bind(batch);
	batch.retryAll = (options?: QueueRetryOptions) => {
		retryOptions.push(options);
		retryAll(options);
	};
	const ctx = createExecutionContext();
	await worker.queue(batch, bindings, ctx);
	return { ...(await getQueueResult(batch, ctx)), retryOptions };
}

async function rowsFor(messageId: string) {
	const { results } = await env.DB.prepare(
		"SELECT queue_message_id, attempts, processed_at, payload FROM events WHERE message_id = ?",
	)
		.bind(messageId)
		.all<{
			queue_message_id: string;
			attempts: number;
			processed_at: string | null;
			payload: string;
		}>();
	return results;
}

describe("EVENTS consumer", () => {
	it("stores a repeated event of one message once", async () => {
		const id = uniqueId();
		const result = await deliver([
			{ id: `q-${id}`, body: queued([id, id, id]) },
		]);
		expect(result.ackAll).toBe(true);
		const rows = await rowsFor(id);
		expect(rows).toHaveLength(1);
		expect(rows[0]?.attempts).toBe(1);
	});

	it("parks a body sent as a JSON object (ingest sends NDJSON text only) and stores none of it", async () => {
		const id = uniqueId();
		const result = await deliver([{ id: `q-${id}`, body: queuedObject(id) }]);
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(0);
		const { results } = await env.DB.prepare(
			"SELECT reason FROM parked WHERE payload LIKE ?1",
		)
			.bind(`%${id}%`)
			.all<{ reason: string }>();
		expect(results).toEqual([{ reason: "malformed" }]);
	});

	it("stores each event and acknowledges the batch", async () => {
		const ids = [uniqueId(), uniqueId()];
		const result = await deliver(
			ids.map((id, i) => ({ id: `q-${id}-${i}`, body: queued(id) })),
		);
		expect(result.ackAll).toBe(true);
		for (const id of ids) {
			const [row] = await rowsFor(id);
			expect(row?.processed_at).not.toBeNull();
			expect(JSON.parse(row?.payload ?? "{}")).toMatchObject({
				messageId: id,
				event: "Order Completed",
			});
		}
	});

	it("keeps one row when the same queue message is redelivered", async () => {
		const id = uniqueId();
		await deliver([{ id: "q-redelivered", body: queued(id) }]);
		const again = await deliver([
			{ id: "q-redelivered", body: queued(id), attempts: 2 },
		]);
		expect(again.ackAll).toBe(true);
		const rows = await rowsFor(id);
		expect(rows).toHaveLength(1);
		// Already processed: the redelivery changed nothing.
		expect(rows[0]?.attempts).toBe(1);
	});

	it("finishes a redelivered message whose first attempt stored the event but crashed before the end", async () => {
		const id = uniqueId();
		const stored = event(id);
		// What the first attempt left behind: stored, never marked processed.
		await env.DB.prepare(
			"INSERT INTO events (source_id, message_id, queue_message_id, type, event, timestamp, received_at, payload) VALUES ('web', ?1, 'q-crashed', 'track', 'Order Completed', ?2, ?2, ?3)",
		)
			.bind(id, stored.timestamp, JSON.stringify(stored))
			.run();
		await deliver([{ id: "q-crashed", body: queued(id), attempts: 2 }]);
		const [row] = await rowsFor(id);
		expect(row?.attempts).toBe(2);
		expect(row?.processed_at).not.toBeNull();
	});

	it("skips a copy of an event that arrived in another queue message, even while the first is unfinished", async () => {
		const id = uniqueId();
		const first = await deliver([
			{ id: "q-first", body: queued(id) },
			{ id: "q-copy-same-batch", body: queued(id) },
		]);
		expect(first.ackAll).toBe(true);
		await deliver([{ id: "q-copy-later", body: queued(id) }]);
		const rows = await rowsFor(id);
		expect(rows).toHaveLength(1);
		expect(rows[0]?.queue_message_id).toBe("q-first");
		expect(rows[0]?.attempts).toBe(1);
	});

	it("keeps the same messageId from two sources apart", async () => {
		const id = uniqueId();
		await deliver([
			{ id: `q-a-${id}`, body: queued(id) },
			{ id: `q-b-${id}`, body: queued(id, "app") },
		]);
		expect(await rowsFor(id)).toHaveLength(2);
	});

	it("parks a malformed message (it can never succeed) as it came, and stores the rest", async () => {
		const id = uniqueId();
		const marker = uniqueId("malformed");
		const result = await deliver([
			{ id: "q-bad", body: { nothing: marker } },
			{ id: "q-not-json", body: `{oops ${marker}` },
			{ id: `q-good-${id}`, body: queued(id) },
		]);
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(1);
		const { results } = await env.DB.prepare(
			"SELECT reason, payload FROM parked WHERE payload LIKE ?1 ORDER BY id",
		)
			.bind(`%${marker}%`)
			.all<{ reason: string; payload: string }>();
		expect(results).toEqual([
			{ reason: "malformed", payload: `{"nothing":"${marker}"}` },
			{ reason: "malformed", payload: `{oops ${marker}` },
		]);
	});

	it("retries the whole batch with backoff when D1 fails, acknowledging nothing", async () => {
		const id = uniqueId();
		const result = await deliver(
			[{ id: `q-${id}`, body: queued(id), attempts: 3 }],
			{ ...env, DB: env.UNMIGRATED_DB },
		);
		expect(result.ackAll).toBe(false);
		expect(result.retryBatch.retry).toBe(true);
		// The third attempt's step is 20 s, half of it random.
		expect(result.retryOptions).toEqual([{ delaySeconds: expect.any(Number) }]);
		const [{ delaySeconds }] = result.retryOptions as [
			{ delaySeconds: number },
		];
		expect(delaySeconds).toBeGreaterThanOrEqual(10);
		expect(delaySeconds).toBeLessThanOrEqual(20);
		expect(await rowsFor(id)).toHaveLength(0);
	});
});
