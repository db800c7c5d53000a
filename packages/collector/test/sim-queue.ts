import { deliverBatch } from "./faults";

interface Held {
	id: string;
	body: unknown;
	/** Failed deliveries so far. */
	failed: number;
}

/** What one delivered batch came to, as the queue saw it. */
export interface BatchOutcome {
	acked: number;
	retried: number;
	deadLettered: number;
	/** The handler's work was thrown away (a crash after it did part of its work). */
	crashed: boolean;
}

let counter = 0;

/**
 * An in-memory queue with the semantics of Cloudflare Queues that the consumers rely on, so a
 * test can drive them one batch at a time with faults in between: a producer binding (`send`,
 * `sendBatch`), batches of at most `maxBatch` messages handed to the Worker's real queue
 * handler, `attempts` counting deliveries, acks (explicit, `ackAll`, or implicit when the
 * handler returns), retries (per message or `retryAll`, and every message when the handler's
 * result is lost), and a move to the dead-letter queue after `maxRetries` retries. Delivery
 * delays are not modelled: a retried message is due at once.
 */
export class SimQueue {
	readonly messages: Held[] = [];
	sent = 0;

	constructor(
		readonly name: string,
		readonly options: { maxBatch: number; maxRetries: number; dlq?: SimQueue },
	) {}

	/** The producer side, as the Worker's env binds it. */
	producer<T>(): Queue<T> {
		const push = (body: unknown) => {
			counter++;
			this.sent++;
			this.messages.push({ id: `${this.name}-${counter}`, body, failed: 0 });
		};
		return {
			send: async (body: T) => {
				push(body);
				return { metadata: undefined };
			},
			sendBatch: async (messages: Iterable<MessageSendRequest<T>>) => {
				for (const message of messages) push(message.body);
				return { metadata: undefined };
			},
			metrics: async () => ({ backlogCount: this.messages.length }),
		} as unknown as Queue<T>;
	}

	/**
	 * Delivers the next batch to the Worker's queue handler with `env`. `crash` throws the
	 * handler's result away, as when the isolate dies after doing part of its work.
	 */
	async deliver(env: Env, crash = false): Promise<BatchOutcome> {
		const batch = this.messages.splice(0, this.options.maxBatch);
		const result = await deliverBatch(
			this.name,
			batch.map((m) => ({ id: m.id, body: m.body, attempts: m.failed + 1 })),
			env,
		);
		const retry = new Set(result.retryMessages.map((r) => r.msgId));
		const all = crash || result.retryBatch.retry || result.outcome !== "ok";
		const outcome: BatchOutcome = {
			acked: 0,
			retried: 0,
			deadLettered: 0,
			crashed: crash,
		};
		for (const message of batch) {
			// A message the handler neither acked nor retried is acked when it returns.
			if (!all && !retry.has(message.id)) {
				outcome.acked++;
				continue;
			}
			message.failed++;
			if (message.failed <= this.options.maxRetries) {
				outcome.retried++;
				this.messages.push(message);
			} else {
				outcome.deadLettered++;
				this.options.dlq?.producer().send(message.body);
			}
		}
		return outcome;
	}
}
