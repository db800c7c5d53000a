import { keyString } from "../db/deliveries";
import type { BatchState } from "../db/delivery-batches";
import type { FailureState } from "../db/delivery-failures";
import type { DeliveryItem } from "../destinations/types";
import { deletionKey, legacyKey } from "./batch-key";
import { type DeliveryMessage, itemsOf } from "./messages";
import type { Settlement } from "./settle";

/** What happened to one event of a destination's group. */
export type Decision =
	| Settlement
	/** Final already, or settled in another batch of the group: nothing was done. */
	| { status: "skipped" }
	/** Waits for an earlier event of the same profile, in a batch of its own. */
	| { status: "held"; delaySeconds: number }
	/** Its person was erased after it was queued: dropped unsent. */
	| { status: "erased" };

/** One logged batch of the group: a DELIVERIES message (or one event of a message without a key). */
export interface Batch {
	key: string;
	/** The message as the log keeps it (its body), with `batch` set. */
	body: DeliveryMessage;
	items: DeliveryItem[];
	/** The queue messages that carry it (several when the queue delivered copies). */
	messages: Message<DeliveryMessage>[];
	/** Its log row; none yet when the consumer sees the message before fan-out logged it. */
	state?: BatchState;
	/** Keys of the events this run settles in it. */
	live: string[];
}

/** One event this run works on. */
export interface Work {
	item: DeliveryItem;
	key: string;
	/** Send attempts so far (its failure row's, when it is being retried). */
	attempts: number;
	failure?: FailureState;
	/** The batch it is settled in. */
	batch: Batch;
	/** Its profile has been erased. */
	erased: boolean;
}

/**
 * A destination's queue messages as logged batches, by key. A message without a key (queued
 * before batch keys existed, or by hand) is one batch per event, keyed as migrations/0011 keyed
 * the rows it moved; copies of a message share one batch.
 *
 * @example
 * batchesOf("hooks", messages).get("b:…")?.items.length // 2
 */
export function batchesOf(
	destinationId: string,
	messages: readonly Message<DeliveryMessage>[],
): Map<string, Batch> {
	const batches = new Map<string, Batch>();
	const add = (
		key: string,
		body: DeliveryMessage,
		message: Message<DeliveryMessage>,
	) => {
		const known = batches.get(key);
		if (known) known.messages.push(message);
		else
			batches.set(key, {
				key,
				body: { ...body, batch: key },
				items: itemsOf(body),
				messages: [message],
				live: [],
			});
	};
	for (const message of messages) {
		const body = message.body;
		if (body.batch) add(body.batch, body, message);
		else if (body.kind === "deletion")
			add(deletionKey(body.deletion.id, destinationId), body, message);
		else
			for (const item of body.items)
				add(
					legacyKey(destinationId, item),
					{ ...body, items: [item] },
					message,
				);
	}
	return batches;
}

/**
 * Which events of the batches this run sends, from the log: none of a `done` batch; every
 * event of a batch never tried, except those a failure row has as final; only the events a
 * `retrying` failure row ties to the batch when it was tried before (the others were
 * delivered). An event in several batches is settled in the first. Fills each batch's `state`
 * and `live`, and returns the work by event key.
 *
 * @example
 * planWork(batches, states, failures, erased) // Map { "web\u001fm1" => { attempts: 0, batch, … } }
 */
export function planWork(
	batches: Iterable<Batch>,
	states: ReadonlyMap<string, BatchState>,
	failures: ReadonlyMap<string, FailureState>,
	erased: ReadonlySet<string>,
): Map<string, Work> {
	const work = new Map<string, Work>();
	for (const batch of batches) {
		batch.state = states.get(batch.key);
		if (batch.state?.status === "done") continue;
		const first = (batch.state?.attempts ?? 0) === 0;
		for (const item of batch.items) {
			const key = keyString([item.sourceId, item.event.messageId]);
			const failure = failures.get(key);
			const live = first
				? failure === undefined || failure.status === "retrying"
				: failure?.status === "retrying" && failure.batchKey === batch.key;
			if (!live || work.has(key)) continue;
			work.set(key, {
				item,
				key,
				attempts: failure?.status === "retrying" ? failure.attempts : 0,
				failure,
				batch,
				erased: profileIdsOf(item).some((id) => erased.has(id)),
			});
			batch.live.push(key);
		}
	}
	return work;
}

/**
 * The profile of an event, for the erasure check (a deletion's pseudo-event is the erasure
 * itself: never dropped).
 *
 * @example
 * profileIdsOf({ sourceId: "web", event: { context: { profileId: "prof_1" }, … } }) // ["prof_1"]
 */
export function profileIdsOf(item: DeliveryItem): string[] {
	const profileId = item.event.context.profileId;
	return item.sourceId !== "" && typeof profileId === "string"
		? [profileId]
		: [];
}
