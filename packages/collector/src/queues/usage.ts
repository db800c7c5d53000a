import { meterD1, type TableUsage } from "../db/meter";

/*
 * Best effort: metering wraps the bindings a consumer invocation uses and never changes what
 * they do; the usage line is logged whether the consumer succeeds or throws.
 */

/** Cloudflare Queues bill one operation per 64 KB (of 1,000 bytes) written, read or deleted. */
const QUEUE_CHUNK_BYTES = 64_000;
/** Per-message metadata Cloudflare counts towards the chunk, approximately. */
const QUEUE_MESSAGE_OVERHEAD = 100;

/** R2 calls by billing class: A mutates (put, list, delete, multipart), B reads (get, head). */
const R2_CLASS_A = new Set<PropertyKey>([
	"put",
	"list",
	"delete",
	"createMultipartUpload",
	"resumeMultipartUpload",
]);
const R2_CLASS_B = new Set<PropertyKey>(["get", "head"]);

/** What one consumer invocation used, as logged. */
export interface UsageLine {
	msg: "usage";
	queue: string;
	/** Messages in the batch, and the 64 KB chunks they weigh (what one read is billed). */
	messages: number;
	queueChunks: number;
	/** Wall time of the invocation. */
	ms: number;
	d1: Record<string, TableUsage>;
	/** R2 calls by binding and class. */
	r2: Record<string, { classA: number; classB: number }>;
	/** Messages and 64 KB chunks sent, by queue binding. */
	sent: Record<string, { messages: number; chunks: number }>;
}

/** An Env whose D1, R2 and Queue bindings are metered. */
export interface MeteredEnv {
	env: Env;
	/** The usage line for this invocation so far. */
	line(batch: MessageBatch<unknown>): UsageLine;
}

/**
 * Wraps every D1, R2 and Queue binding in `env` so one consumer invocation's usage can be
 * logged as one JSON line: D1 rows per table (db/meter.ts), R2 operations per billing class,
 * and queue messages sent. `npm run bench:scale` sums these lines into the cost model.
 *
 * @example
 * const metered = meterEnv(env);
 * try { await consume(batch, metered.env, ctx); }
 * finally { console.log(JSON.stringify(metered.line(batch))); }
 */
export function meterEnv(env: Env, started = Date.now()): MeteredEnv {
	const wrapped: Record<string, unknown> = { ...env };
	const d1: Record<string, ReturnType<typeof meterD1>> = {};
	const r2: UsageLine["r2"] = {};
	const sent: UsageLine["sent"] = {};
	for (const [name, binding] of Object.entries(env)) {
		if (!binding || typeof binding !== "object") continue;
		if (isD1(binding)) {
			d1[name] = meterD1(binding);
			wrapped[name] = d1[name].db;
		} else if (isR2(binding)) {
			const counts = { classA: 0, classB: 0 };
			r2[name] = counts;
			wrapped[name] = countCalls(binding, (prop) => {
				if (R2_CLASS_A.has(prop)) counts.classA++;
				else if (R2_CLASS_B.has(prop)) counts.classB++;
			});
		} else if (isQueue(binding)) {
			const counts = { messages: 0, chunks: 0 };
			sent[name] = counts;
			wrapped[name] = countCalls(binding, (prop, args) => {
				const bodies =
					prop === "send"
						? [args[0]]
						: prop === "sendBatch"
							? ((args[0] ?? []) as { body: unknown }[]).map((m) => m.body)
							: [];
				counts.messages += bodies.length;
				for (const body of bodies) counts.chunks += chunksOf(body);
			});
		}
	}
	return {
		env: wrapped as unknown as Env,
		line(batch) {
			const tables: Record<string, TableUsage> = {};
			for (const [binding, meter] of Object.entries(d1))
				for (const [table, usage] of Object.entries(meter.usage()))
					tables[binding === "DB" ? table : `${binding}.${table}`] = usage;
			return {
				msg: "usage",
				queue: batch.queue,
				messages: batch.messages.length,
				queueChunks: batch.messages.reduce((n, m) => n + chunksOf(m.body), 0),
				ms: Date.now() - started,
				d1: tables,
				r2,
				sent,
			};
		},
	};
}

/**
 * The 64 KB chunks a queue message weighs for billing: its JSON (or text) length plus about
 * 100 bytes of metadata.
 *
 * @example
 * chunksOf("x".repeat(70_000)) // 2
 */
export function chunksOf(body: unknown): number {
	const bytes =
		typeof body === "string"
			? body.length
			: (JSON.stringify(body) ?? "").length;
	return Math.max(
		1,
		Math.ceil((bytes + QUEUE_MESSAGE_OVERHEAD) / QUEUE_CHUNK_BYTES),
	);
}

function isD1(binding: object): binding is D1Database {
	return "prepare" in binding && "batch" in binding && "exec" in binding;
}
function isR2(binding: object): binding is R2Bucket {
	return "createMultipartUpload" in binding && "head" in binding;
}
function isQueue(binding: object): binding is Queue {
	return "sendBatch" in binding && "send" in binding;
}

/** A proxy that reports each method call (name and arguments) before making it. */
function countCalls<T extends object>(
	target: T,
	count: (prop: PropertyKey, args: unknown[]) => void,
): T {
	return new Proxy(target, {
		get(object, prop) {
			const value = Reflect.get(object, prop, object) as unknown;
			if (typeof value !== "function") return value;
			return (...args: unknown[]) => {
				count(prop, args);
				return (value as (...a: unknown[]) => unknown).apply(object, args);
			};
		},
	});
}
