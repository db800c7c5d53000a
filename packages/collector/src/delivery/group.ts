import type { Destination } from "../config/destinations";
import { MissingSecretError, resolveSecret } from "../config/secret";
import { keyString } from "../db/deliveries";
import { batchStates } from "../db/delivery-batches";
import { failureStates, heldBack } from "../db/delivery-failures";
import { chunk } from "../destinations/kit/chunk";
import { destinationType } from "../destinations/registry";
import type { SendContext, Verdict } from "../destinations/types";
import { erasedAmong } from "../identity/erased";
import { applyMapping } from "../routing/mapping";
import { profileKeyOf } from "../routing/route";
import { holdSeconds, ORDERING_STALE_MS, SWEPT_STALE_MS } from "./hold";
import type { DeliveryMessage } from "./messages";
import { type BatchOutcome, recordGroup } from "./record";
import { settle } from "./settle";
import {
	type Batch,
	batchesOf,
	type Decision,
	planWork,
	profileIdsOf,
	type Work,
} from "./work";

export type { Decision } from "./work";

/** What the consumer does with one queue message after its group ran. */
export type MessageAction = { ack: true } | { retryInSeconds: number };

/**
 * Delivers one destination's messages from a DELIVERIES batch and records the results. Each
 * message is a batch of the delivery log (work.ts): a batch the log has as done is skipped (a
 * redelivered message), and a batch tried before sends only its events a failure row has as
 * retrying. Of those, it drops events of a person erased since they were queued, holds back
 * events whose profile has an earlier event being retried (destinations with per-profile
 * ordering), maps and sends the rest in the destination's batch size, settles each verdict
 * (settle.ts) and writes the log (record.ts). Returns each event's decision, by keyString, and
 * what to do with each message: ack, or retry after the longest delay its events need.
 *
 * @example
 * const { actions } = await deliverGroup(env, "hooks", destination, false, messages, Date.now);
 */
export async function deliverGroup(
	env: Env,
	destinationId: string,
	destination: Destination | undefined,
	switchedOff: boolean,
	messages: Message<DeliveryMessage>[],
	now: () => number,
): Promise<{
	decisions: Map<string, Decision>;
	actions: Map<Message<DeliveryMessage>, MessageAction>;
}> {
	const started = now();
	const batches = [...batchesOf(destinationId, messages).values()];
	const items = new Map(
		batches.flatMap((b) =>
			b.items.map(
				(i) => [keyString([i.sourceId, i.event.messageId]), i] as const,
			),
		),
	);
	const [states, failures, erased] = await Promise.all([
		batchStates(
			env.DB,
			batches.map((b) => b.key),
		),
		failureStates(
			env.DB,
			destinationId,
			[...items.values()].map((i) => [i.sourceId, i.event.messageId] as const),
		),
		erasedAmong(env.DB, [...items.values()].flatMap(profileIdsOf)),
	]);
	const work = planWork(batches, states, failures, erased);

	const decisions = new Map<string, Decision>();
	for (const key of items.keys())
		if (!work.has(key)) decisions.set(key, { status: "skipped" });
	const live = [...work.values()].filter((w) => {
		if (w.erased) decisions.set(w.key, { status: "erased" });
		return !w.erased;
	});
	const unusable = !destination
		? "destination no longer configured"
		: !destination.enabled
			? "destination disabled in the config"
			: switchedOff
				? "destination switched off after its receiver answered 410 Gone; replay to it to switch it back on"
				: undefined;
	let requests = new Map<string, number>();
	if (unusable || !destination)
		for (const w of live)
			decisions.set(w.key, {
				status: "failed",
				attempts: w.attempts,
				error: unusable,
			});
	else requests = await send(env, destination, live, decisions, now);

	const outcomes = await recordGroup(
		env,
		destinationId,
		destination?.type ?? "unknown",
		batches,
		work,
		decisions,
		requests,
		now(),
	);
	const counts: Record<string, number> = {};
	for (const d of decisions.values())
		counts[d.status] = (counts[d.status] ?? 0) + 1;
	console.log(
		JSON.stringify({
			msg: "delivery",
			destinationId,
			batches: batches.length,
			...counts,
			ms: now() - started,
		}),
	);
	return { decisions, actions: actionsOf(batches, outcomes) };
}

/**
 * A message is retried when one of its batches is, after the longest delay they need; only the
 * first copy of a batch the queue delivered twice is retried, the others are acked.
 */
function actionsOf(
	batches: readonly Batch[],
	outcomes: ReadonlyMap<string, BatchOutcome>,
): Map<Message<DeliveryMessage>, MessageAction> {
	const actions = new Map<Message<DeliveryMessage>, MessageAction>();
	for (const batch of batches)
		batch.messages.forEach((message, copy) => {
			const outcome = outcomes.get(batch.key);
			const known = actions.get(message);
			const retryIn =
				outcome?.status === "retrying" && copy === 0
					? outcome.retryInSeconds
					: undefined;
			if (retryIn === undefined) {
				if (!known) actions.set(message, { ack: true });
				return;
			}
			const before =
				known && "retryInSeconds" in known ? known.retryInSeconds : 0;
			actions.set(message, { retryInSeconds: Math.max(before, retryIn) });
		});
	return actions;
}

/**
 * Sends the live events and sets their decisions. Returns the request each event went out in
 * (an index, by keyString), so that record.ts can retry a failed request as it was sent.
 */
async function send(
	env: Env,
	destination: Destination,
	live: Work[],
	decisions: Map<string, Decision>,
	now: () => number,
): Promise<Map<string, number>> {
	const module = destinationType(destination.type);
	const ctx: SendContext<unknown> = {
		destinationId: destination.id,
		settings: destination.settings,
		env,
		secret: (ref) => resolveSecret(env, ref),
		fetch: (url, init) =>
			fetch(url, {
				...init,
				signal: AbortSignal.timeout(destination.timeoutMs),
			}),
		now,
	};
	const ordered = (destination.ordering ?? module.ordering) === "profile";
	const held = ordered
		? await holds(env, destination.id, live, now())
		: new Map<string, number>();
	for (const [key, delaySeconds] of held)
		decisions.set(key, { status: "held", delaySeconds });
	const sendable = live.filter((w) => !held.has(w.key));

	const batchSize = Math.min(
		destination.batchSize ?? module.maxBatchEvents,
		module.maxBatchEvents,
	);
	const events = sendable.filter((w) => w.item.sourceId !== "");
	const parts = sendGroups(events).flatMap((group) =>
		chunk(group, {
			maxItems: batchSize,
			maxBytes: Number.POSITIVE_INFINITY,
			sizeOf: () => 0,
		}),
	);
	const requests = new Map<string, number>();
	let waitSeconds: number | undefined;
	for (const [request, part] of parts.entries()) {
		if (waitSeconds !== undefined) {
			// An earlier chunk of this ordered destination is to be retried first: these wait
			// until just after it.
			for (const w of part)
				decisions.set(w.key, { status: "held", delaySeconds: waitSeconds + 1 });
			continue;
		}
		for (const w of part) requests.set(w.key, request);
		const mapped = await Promise.all(
			part.map(async (w) => ({
				sourceId: w.item.sourceId,
				event: await applyMapping(w.item.event, destination.mapping),
			})),
		);
		const verdicts = await guarded(part.length, () => module.send(mapped, ctx));
		part.forEach((w, i) => {
			decisions.set(
				w.key,
				settle(verdicts[i] as Verdict, w.attempts, destination.retry),
			);
		});
		const retry = part
			.map((w) => decisions.get(w.key))
			.find((d) => d?.status === "retrying");
		if (ordered && retry?.status === "retrying")
			waitSeconds = retry.delaySeconds;
	}

	for (const w of sendable.filter((w) => w.item.sourceId === "")) {
		const body = w.batch.body;
		if (body.kind !== "deletion") continue;
		const [verdict] = await guarded(1, async () => [
			module.deleteProfile && module.supportsDeletion?.(ctx.settings)
				? await module.deleteProfile(body.deletion, ctx)
				: {
						outcome: "dropped",
						error: `this ${module.type} destination does not forward deletions`,
					},
		]);
		decisions.set(
			w.key,
			settle(verdict as Verdict, w.attempts, destination.retry),
		);
	}
	return requests;
}

/**
 * The events to send, in groups no request crosses: the events sent for the first time, and
 * for each batch being retried its events (record.ts gives a failed request a batch of its own
 * unless it was its batch's only one). A retried request therefore carries exactly the events
 * it failed with, whatever other batches the queue delivers beside it, and keys derived from
 * its events (a webhook's `webhook-id`, an R2 object's name) stay the same: a receiver that got
 * the request although the send counted as failed (a timeout) can drop the copy. Each group is
 * in event-time order. The retried groups go first, by their earliest event, and the first
 * sends last: a person's events being retried were sent before those sent for the first time,
 * so per-profile order holds, and should a retry fail again, the chunks after it wait.
 */
function sendGroups(events: readonly Work[]): Work[][] {
	const fresh: Work[] = [];
	const retried = new Map<string, Work[]>();
	for (const w of events) {
		if (w.failure?.status !== "retrying") {
			fresh.push(w);
			continue;
		}
		const members = retried.get(w.failure.batchKey);
		if (members) members.push(w);
		else retried.set(w.failure.batchKey, [w]);
	}
	const byTime = (group: Work[]) =>
		group.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
	const groups = [...retried.values()]
		.map(byTime)
		.sort((a, b) =>
			eventTime(a[0] as Work).localeCompare(eventTime(b[0] as Work)),
		);
	return fresh.length > 0 ? [...groups, byTime(fresh)] : groups;
}

/** Events held back for ordering, with how long to wait (hold.ts `holdSeconds`). */
async function holds(
	env: Env,
	destinationId: string,
	live: Work[],
	now: number,
): Promise<Map<string, number>> {
	const candidates = live.flatMap((w) => {
		const profileKey = profileKeyOf(w.item.event);
		return profileKey && w.item.sourceId !== ""
			? [
					{
						key: [w.item.sourceId, w.item.event.messageId] as const,
						profileKey,
						eventTime: eventTime(w),
					},
				]
			: [];
	});
	const until = await heldBack(
		env.DB,
		destinationId,
		candidates,
		new Date(now - ORDERING_STALE_MS),
		new Date(now - SWEPT_STALE_MS),
	);
	const held = new Map<string, number>();
	for (const [key, at] of until)
		held.set(key, holdSeconds(Date.parse(at), now));
	return held;
}

/** A send that throws (a missing secret, a bug) gives every event of the request the same verdict. */
async function guarded(
	count: number,
	run: () => Promise<Verdict[]>,
): Promise<Verdict[]> {
	try {
		return await run();
	} catch (error) {
		const verdict: Verdict =
			error instanceof MissingSecretError
				? { outcome: "fatal", error: error.message }
				: { outcome: "retry-later", error: `send failed: ${String(error)}` };
		return Array.from({ length: count }, () => verdict);
	}
}

function eventTime(w: Work): string {
	return new Date(w.item.event.timestamp).toISOString();
}
