import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
} from "cloudflare:test";
import type { EnrichedEvent } from "../src/event";
import worker from "../src/index";
import { pack } from "../src/ingest/message";

/**
 * A real D1 binding that fails on demand: before each round trip (batch, exec, run, all, first,
 * raw) it asks `fault` and throws what it returns. Statements prepared through it work in its
 * batch() as usual.
 */
export function faultyD1(
	real: D1Database,
	fault: () => Error | undefined,
): D1Database {
	const unwrap = new WeakMap<object, D1PreparedStatement>();
	const check = () => {
		const error = fault();
		if (error) throw error;
	};
	const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
		const proxy = new Proxy(statement, {
			get(target, prop) {
				if (prop === "bind")
					return (...values: unknown[]) => wrap(target.bind(...values));
				const value = Reflect.get(target, prop, target) as unknown;
				if (typeof value !== "function") return value;
				if (!["first", "run", "all", "raw"].includes(String(prop)))
					return value.bind(target);
				return async (...args: unknown[]) => {
					check();
					return (value as (...a: unknown[]) => unknown).apply(target, args);
				};
			},
		});
		unwrap.set(proxy, statement);
		return proxy;
	};
	return new Proxy(real, {
		get(target, prop) {
			if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
			if (prop === "batch")
				return async (statements: D1PreparedStatement[]) => {
					check();
					return target.batch(statements.map((s) => unwrap.get(s) ?? s));
				};
			if (prop === "exec")
				return async (sql: string) => {
					check();
					return target.exec(sql);
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

/** The error D1 documents for a lost connection (a transient, systemic failure). */
export const D1_DOWN = () => new Error("D1_ERROR: Network connection lost.");

/**
 * A queue producer that refuses sends on demand (`fault` sees the call's arguments) and
 * otherwise passes them to the real one.
 */
export function faultyQueue<T>(
	real: Queue<T>,
	fault: (args: unknown[]) => Error | undefined,
): Queue<T> {
	return new Proxy(real, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target) as unknown;
			if (typeof value !== "function") return value;
			if (prop !== "send" && prop !== "sendBatch") return value.bind(target);
			return async (...args: unknown[]) => {
				const error = fault(args);
				if (error) throw error;
				return (value as (...a: unknown[]) => unknown).apply(target, args);
			};
		},
	});
}

/** An enriched event as ingest queues it (a track of `userId`, timestamped now). */
export function enriched(
	messageId: string,
	extra: Record<string, unknown> = {},
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
	} as EnrichedEvent;
}

/** One EVENTS message body exactly as ingest writes it, from event lines (JSON text). */
export function body(sourceId: string, lines: readonly string[]): string {
	const [message, ...more] = pack(sourceId, lines);
	if (!message || more.length > 0)
		throw new Error("the lines do not fit one queue message");
	return message;
}

/** Properties nested `depth` levels deep: more than SQLite's JSON reader takes (1,000). */
export function nested(depth: number): Record<string, unknown> {
	let value: Record<string, unknown> = { leaf: true };
	for (let i = 0; i < depth; i++) value = { a: value };
	return value;
}

/**
 * Runs the Worker's queue handler on a batch of one queue, as the queue would deliver it, and
 * returns what the handler decided (acks, retries) with the delay it asked for.
 */
export async function deliverBatch(
	queue: string,
	messages: { id: string; body: unknown; attempts?: number }[],
	bindings: Env,
) {
	const batch = createMessageBatch<unknown>(
		queue,
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
