import { loadConfig } from "../config/load";
import { keyString } from "../db/deliveries";
import { disabledDestinations } from "../db/destination-state";
import { MAX_EVENTS_PER_MESSAGE } from "../delivery/fanout";
import { type Decision, deliverGroup } from "../delivery/group";
import {
	type DeliveryMessage,
	enqueueAll,
	itemsOf,
} from "../delivery/messages";
import { chunk } from "../destinations/kit/chunk";
import type { DeliveryItem } from "../destinations/types";
import { attemptsOf, retryBatchLater, retryDelaySeconds } from "./retry";

/**
 * The DELIVERIES queue consumer. Stage rule — isolated fan-out: messages are grouped by
 * destination and each group runs on its own (delivery/group.ts), concurrently, with its own error
 * handling, so one destination failing or slow never fails, retries or re-sends another's
 * messages. Each message is then settled by what happened to its events: any event to retry →
 * the message is retried after the longest delay its events need (next time the log skips those
 * already delivered); else events held back for ordering go back on the queue in a new, delayed
 * message (a hold is not a failed attempt); else the message is acked.
 *
 * @example
 * export default { queue: (batch, env) => consumeDeliveries(batch, env) };
 */
export async function consumeDeliveries(
	batch: MessageBatch<DeliveryMessage>,
	env: Env,
	now: () => number = Date.now,
): Promise<void> {
	let setup: [Awaited<ReturnType<typeof loadConfig>>, Set<string>];
	try {
		setup = await Promise.all([loadConfig(env), disabledDestinations(env.DB)]);
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "delivery batch cannot start; retrying",
				error: String(error),
			}),
		);
		retryBatchLater(batch);
		return;
	}
	const [config, switchedOff] = setup;
	const groups = new Map<string, Message<DeliveryMessage>[]>();
	for (const message of batch.messages)
		groups.set(message.body.destinationId, [
			...(groups.get(message.body.destinationId) ?? []),
			message,
		]);
	await Promise.all(
		[...groups].map(async ([destinationId, messages]) => {
			try {
				const destination = config.destinationsById.get(destinationId);
				const decisions = await deliverGroup(
					env,
					destinationId,
					destination,
					switchedOff.has(destinationId),
					messages,
					now,
				);
				await settleMessages(env, destinationId, messages, decisions);
			} catch (error) {
				console.error(
					JSON.stringify({
						msg: "delivery group failed; retrying",
						destinationId,
						error: String(error),
					}),
				);
				for (const message of messages)
					message.retry({
						delaySeconds: retryDelaySeconds(attemptsOf(messages)),
					});
			}
		}),
	);
}

async function settleMessages(
	env: Env,
	destinationId: string,
	messages: Message<DeliveryMessage>[],
	decisions: Map<string, Decision>,
): Promise<void> {
	const requeue = new Map<number, DeliveryItem[]>();
	const queued = new Set<string>();
	const settled: (() => void)[] = [];
	for (const message of messages) {
		const mine = itemsOf(message.body).map((item) => {
			const key = keyString([item.sourceId, item.event.messageId]);
			return { item, key, decision: decisions.get(key) };
		});
		const retryIn = mine.flatMap(({ decision }) =>
			decision?.status === "retrying" ? [decision.delaySeconds ?? 0] : [],
		);
		if (retryIn.length > 0) {
			settled.push(() => message.retry({ delaySeconds: Math.max(...retryIn) }));
			continue;
		}
		for (const { item, key, decision } of mine) {
			if (decision?.status !== "held" || queued.has(key)) continue;
			queued.add(key);
			requeue.set(decision.delaySeconds, [
				...(requeue.get(decision.delaySeconds) ?? []),
				item,
			]);
		}
		settled.push(() => message.ack());
	}
	// Held events are queued again before their messages are acked: if queueing fails, the
	// caller retries the messages instead and nothing is lost.
	for (const [delaySeconds, items] of requeue) {
		const parts = chunk(items, {
			maxItems: MAX_EVENTS_PER_MESSAGE,
			maxBytes: Number.POSITIVE_INFINITY,
			sizeOf: () => 0,
		});
		await enqueueAll<DeliveryMessage>(
			env.DELIVERIES,
			parts.map((part) => ({ kind: "events", destinationId, items: part })),
			delaySeconds,
		);
	}
	for (const settle of settled) settle();
}
