import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load";
import { fanOut } from "../src/delivery/fanout";
import type { DeliveryMessage } from "../src/delivery/messages";
import type { EnrichedEvent } from "../src/event";
import { consumeDeliveries } from "../src/queues/deliveries";
import {
	deliveredCount,
	failuresOf,
	script,
	useWebhook,
} from "./delivery-helpers";

/*
 * What the delivery log costs in D1 rows written, as D1 reports them (`meta.rows_written`: a row
 * per row inserted, updated or deleted, and one per index entry the write changes). The real
 * fan-out and the real DELIVERIES consumer run against local D1 and a local webhook receiver;
 * the queue is a list.
 */

/** A D1 binding that sums the rows written of every statement run through it. */
function writeCounting(real: D1Database) {
	const counter = { rowsWritten: 0 };
	const add = (result: unknown) => {
		counter.rowsWritten +=
			(result as { meta?: { rows_written?: number } })?.meta?.rows_written ?? 0;
		return result;
	};
	const unwrap = new WeakMap<object, D1PreparedStatement>();
	const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
		const proxy = new Proxy(statement, {
			get(target, prop) {
				if (prop === "bind")
					return (...values: unknown[]) => wrap(target.bind(...values));
				if (prop === "run" || prop === "all")
					return async () => add(await target[prop]());
				const value = Reflect.get(target, prop, target) as unknown;
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		unwrap.set(proxy, statement);
		return proxy;
	};
	const db = new Proxy(real, {
		get(target, prop) {
			if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
			if (prop === "batch")
				return async (statements: D1PreparedStatement[]) => {
					const results = await target.batch(
						statements.map((s) => unwrap.get(s) ?? s),
					);
					for (const result of results) add(result);
					return results;
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { db, counter };
}

/** A DELIVERIES queue that keeps what it is sent, for the consumer to take. */
function listQueue() {
	const queued: DeliveryMessage[] = [];
	const binding = {
		async sendBatch(messages: Iterable<MessageSendRequest<DeliveryMessage>>) {
			for (const { body } of messages) queued.push(body);
		},
		async send(body: DeliveryMessage) {
			queued.push(body);
		},
	} as unknown as Queue<DeliveryMessage>;
	return { queued, binding };
}

/** The consumer's batch of messages; retried ones go back on the queue. */
function batchOf(queued: DeliveryMessage[], attempts: number) {
	const messages = queued.splice(0, 100);
	return {
		queue: "conduit-deliveries",
		messages: messages.map((body, i) => ({
			id: `m-${i}`,
			timestamp: new Date(),
			attempts,
			body,
			ack: () => {},
			retry: () => queued.push(body),
		})),
		ackAll: () => {},
		retryAll: () => {},
	} as unknown as MessageBatch<DeliveryMessage>;
}

function events(count: number, key: string): EnrichedEvent[] {
	const now = new Date().toISOString();
	return Array.from({ length: count }, (_, n) => ({
		type: "track",
		event: "Step",
		messageId: `msg_${key}_${n}`,
		userId: `user-${key}-${n % 50}`,
		timestamp: now,
		receivedAt: now,
		properties: { n },
		context: { profileId: `prof_${key}_${n % 50}` },
	}));
}

/**
 * Fans `count` events out to one webhook in EVENTS batches of `perBatch`, delivers them
 * (after a 503 on the first request when `failFirst`), and returns the rows written per event
 * by fan-out's log writes and by the consumer.
 */
async function measure(count: number, perBatch: number, failFirst = false) {
	const { key, id } = await useWebhook({
		retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 1 },
	});
	if (failFirst) await script("webhook", key, [{ status: 503 }]);
	const config = await loadConfig(env);
	const queue = listQueue();
	const fan = writeCounting(env.DB);
	const all = events(count, key);
	for (let i = 0; i < all.length; i += perBatch)
		await fanOut(
			{ DB: fan.db, DELIVERIES: queue.binding },
			all.slice(i, i + perBatch).map((event) => ({ sourceId: "web", event })),
			config,
			new Date(),
		);
	const consume = writeCounting(env.DB);
	const on = { ...env, DB: consume.db, DELIVERIES: queue.binding };
	for (let attempt = 1; queue.queued.length > 0 && attempt <= 5; attempt++)
		await consumeDeliveries(batchOf(queue.queued, attempt), on);
	expect(await deliveredCount(id)).toBe(count);
	expect(
		(await failuresOf(id)).filter((r) => r.status !== "delivered"),
	).toEqual([]);
	const figures = {
		events: count,
		eventsPerFanOut: perBatch,
		failFirst,
		fanOutRowsWritten: fan.counter.rowsWritten,
		consumerRowsWritten: consume.counter.rowsWritten,
		rowsWrittenPerEvent:
			(fan.counter.rowsWritten + consume.counter.rowsWritten) / count,
	};
	console.log(`delivery log cost: ${JSON.stringify(figures)}`);
	return figures;
}

describe("the delivery log's cost in D1 rows written", () => {
	it("is a few rows per DELIVERIES message, far under one per event", {
		timeout: 30_000,
	}, async () => {
		// Full messages: 1,000 events in EVENTS batches of 100, one destination.
		const full = await measure(1000, 100);
		expect(full.rowsWrittenPerEvent).toBeLessThan(0.1);
		// Small EVENTS batches (a quiet site): 20 events per message.
		const small = await measure(200, 20);
		expect(small.rowsWrittenPerEvent).toBeLessThan(0.5);
	});

	it("adds rows only for the events that fail, while they fail", {
		timeout: 30_000,
	}, async () => {
		const clean = await measure(100, 100);
		const retried = await measure(100, 100, true);
		// A failed first send of 100 events: a failure row each (and its index entries), then
		// each deleted when the retry delivers it.
		expect(retried.rowsWrittenPerEvent).toBeGreaterThan(
			clean.rowsWrittenPerEvent + 1,
		);
	});
});
