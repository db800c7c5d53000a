import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "../src/consumer";
import worker from "../src/index";
import type { EnrichedEvent, QueuedEvent } from "../src/types";
import { uniqueId } from "./helpers";

function queued(
	messageId: string,
	extra: Partial<EnrichedEvent> = {},
): QueuedEvent {
	const now = new Date().toISOString();
	return {
		sourceId: "web",
		event: {
			type: "track",
			event: "Order Completed",
			userId: "u1",
			messageId,
			timestamp: now,
			receivedAt: now,
			context: {},
			...extra,
		},
	};
}

async function deliver(
	messages: { id: string; body: unknown; attempts?: number }[],
	bindings: Env = env,
) {
	const batch = createMessageBatch<QueuedEvent>(
		"conduit-events",
		messages.map((m) => ({
			id: m.id,
			timestamp: new Date(),
			attempts: m.attempts ?? 1,
			body: m.body as QueuedEvent,
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
	await worker.queue(batch, bindings);
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
		const event = queued(id).event;
		// What the first attempt left behind: stored, never marked processed.
		await env.DB.prepare(
			"INSERT INTO events (source_id, message_id, queue_message_id, type, event, timestamp, received_at, payload) VALUES ('web', ?1, 'q-crashed', 'track', 'Order Completed', ?2, ?2, ?3)",
		)
			.bind(id, event.timestamp, JSON.stringify(event))
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
			{ id: `q-b-${id}`, body: { ...queued(id), sourceId: "app" } },
		]);
		expect(await rowsFor(id)).toHaveLength(2);
	});

	it("acknowledges a malformed message (it can never succeed) and stores the rest", async () => {
		const id = uniqueId();
		const result = await deliver([
			{ id: "q-bad", body: { nothing: "here" } },
			{ id: `q-good-${id}`, body: queued(id) },
		]);
		expect(result.explicitAcks).toContain("q-bad");
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(1);
	});

	it("retries the whole batch with backoff when D1 fails, acknowledging nothing", async () => {
		const id = uniqueId();
		const result = await deliver(
			[{ id: `q-${id}`, body: queued(id), attempts: 3 }],
			{ ...env, DB: env.UNMIGRATED_DB },
		);
		expect(result.ackAll).toBe(false);
		expect(result.retryBatch.retry).toBe(true);
		expect(result.retryOptions).toEqual([
			{ delaySeconds: retryDelaySeconds(3) },
		]);
		expect(await rowsFor(id)).toHaveLength(0);
	});
});

describe("retryDelaySeconds", () => {
	it("doubles from 5 s and stops at 5 min", () => {
		expect([1, 2, 3, 4, 7, 8, 20].map(retryDelaySeconds)).toEqual([
			5, 10, 20, 40, 300, 300, 300,
		]);
	});
});
