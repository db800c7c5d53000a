import type { Destination } from "../config/destinations";
import { MissingSecretError, resolveSecret } from "../config/secret";
import {
	type DeliveryStatus,
	type DeliveryUpdate,
	deleteDeliveries,
	deliveryStates,
	FINAL_STATUSES,
	heldBack,
	keyString,
	recordHeld,
	recordResults,
	recordRouted,
} from "../db/deliveries";
import { disableDestination } from "../db/destination-state";
import { chunk } from "../destinations/kit/chunk";
import { destinationType } from "../destinations/registry";
import type { DeliveryItem, SendContext, Verdict } from "../destinations/types";
import { erasedAmong } from "../identity/erased";
import { applyMapping } from "../routing/mapping";
import { profileKeyOf } from "../routing/route";
import { type DeadLetter, deadLetter } from "./dead-letter";
import {
	holdSeconds,
	nextLooks,
	ORDERING_STALE_MS,
	SWEPT_STALE_MS,
} from "./hold";
import { type DeliveryMessage, itemsOf } from "./messages";
import { type Settlement, settle } from "./settle";

/** What happened to one event of the group. */
export type Decision =
	| Settlement
	/** Already final in the log (a redelivered message): nothing was done. */
	| { status: "skipped" }
	/** Waits for an earlier event of the same profile. */
	| { status: "held"; delaySeconds: number }
	/** Its person was erased after it was queued: dropped unsent, its log row deleted. */
	| { status: "erased" };

/** One event of the group, with its log state and the messages that carry it. */
interface Work {
	item: DeliveryItem;
	key: string;
	status: DeliveryStatus;
	attempts: number;
	messages: Message<DeliveryMessage>[];
	/** The event's profile has been erased. */
	erased?: boolean;
}

/**
 * Delivers one destination's messages from a DELIVERIES batch and records the results: drops
 * events of a person erased since they were queued (unsent, their log rows deleted), skips
 * events the log already has as final, holds back events whose profile has an earlier event in
 * flight (destinations with per-profile ordering), maps and sends the rest in the destination's
 * batch size, settles each verdict (settle.ts), writes the log and dead-letters what failed for
 * good. Returns each event's decision, by keyString, for the caller to ack or retry messages.
 *
 * @example
 * const decisions = await deliverGroup(env, "hooks", destination, false, messages, Date.now);
 */
export async function deliverGroup(
	env: Env,
	destinationId: string,
	destination: Destination | undefined,
	switchedOff: boolean,
	messages: Message<DeliveryMessage>[],
	now: () => number,
): Promise<Map<string, Decision>> {
	const started = now();
	const work = await loadWork(env, destinationId, messages, new Date(started));
	const decisions = new Map<string, Decision>();
	const live = work.filter((w) => {
		if (w.erased) decisions.set(w.key, { status: "erased" });
		else if (FINAL_STATUSES.has(w.status))
			decisions.set(w.key, { status: "skipped" });
		return !w.erased && !FINAL_STATUSES.has(w.status);
	});
	const unusable = !destination
		? "destination no longer configured"
		: !destination.enabled
			? "destination disabled in the config"
			: switchedOff
				? "destination switched off after its receiver answered 410 Gone; replay to it to switch it back on"
				: undefined;
	if (unusable || !destination)
		for (const w of live)
			decisions.set(w.key, {
				status: "failed",
				attempts: w.attempts,
				error: unusable,
			});
	else await send(env, destination, live, decisions, now);

	await record(
		env,
		destinationId,
		destination?.type ?? "unknown",
		work,
		decisions,
		now(),
	);
	const counts: Record<string, number> = {};
	for (const d of decisions.values())
		counts[d.status] = (counts[d.status] ?? 0) + 1;
	console.log(
		JSON.stringify({
			msg: "delivery",
			destinationId,
			...counts,
			ms: now() - started,
		}),
	);
	return decisions;
}

async function loadWork(
	env: Env,
	destinationId: string,
	messages: Message<DeliveryMessage>[],
	at: Date,
): Promise<Work[]> {
	const work = new Map<string, Work>();
	for (const message of messages)
		for (const item of itemsOf(message.body)) {
			const key = keyString([item.sourceId, item.event.messageId]);
			const known = work.get(key);
			if (known) known.messages.push(message);
			else
				work.set(key, {
					item,
					key,
					status: "pending",
					attempts: 0,
					messages: [message],
				});
		}
	const all = [...work.values()];
	const [states, erased] = await Promise.all([
		deliveryStates(
			env.DB,
			destinationId,
			all.map((w) => [w.item.sourceId, w.item.event.messageId] as const),
		),
		erasedAmong(env.DB, all.flatMap(profileIdOf)),
	]);
	for (const w of all) w.erased = profileIdOf(w).some((id) => erased.has(id));
	// Rows of erased events exist only when fan-out raced the deletion: they go too.
	await deleteDeliveries(
		env.DB,
		destinationId,
		all
			.filter((w) => w.erased && states.has(w.key))
			.map((w) => [w.item.sourceId, w.item.event.messageId] as const),
	);
	// A message whose log row is gone (cleaned up, or queued by hand) gets one now.
	const missing = all.filter((w) => !states.has(w.key) && !w.erased);
	await recordRouted(
		env.DB,
		missing.map((w) => ({
			destinationId,
			sourceId: w.item.sourceId,
			messageId: w.item.event.messageId,
			kind: w.item.sourceId === "" ? "deletion" : "event",
			profileKey: profileKeyOf(w.item.event),
			eventTime: eventTime(w),
		})),
		at,
	);
	for (const w of all) Object.assign(w, states.get(w.key));
	return all;
}

async function send(
	env: Env,
	destination: Destination,
	live: Work[],
	decisions: Map<string, Decision>,
	now: () => number,
): Promise<void> {
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
	const sendable = live
		.filter((w) => !held.has(w.key))
		.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));

	const batchSize = Math.min(
		destination.batchSize ?? module.maxBatchEvents,
		module.maxBatchEvents,
	);
	const events = sendable.filter((w) => w.item.sourceId !== "");
	let waitSeconds: number | undefined;
	for (const part of chunk(events, {
		maxItems: batchSize,
		maxBytes: Number.POSITIVE_INFINITY,
		sizeOf: () => 0,
	})) {
		if (waitSeconds !== undefined) {
			// An earlier chunk of this ordered destination is to be retried first.
			for (const w of part)
				decisions.set(w.key, { status: "held", delaySeconds: waitSeconds });
			continue;
		}
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
		const body = w.messages[0]?.body;
		if (body?.kind !== "deletion") continue;
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

/**
 * Writes the log, the dead letters and a 410's switch-off. A retrying or held event's
 * next_attempt_at is when the consumer will see it again (its message's retry, or the end of
 * its hold), so the sweeper never takes a waiting event for a lost one.
 */
async function record(
	env: Env,
	destinationId: string,
	destinationType: string,
	work: Work[],
	decisions: Map<string, Decision>,
	at: number,
): Promise<void> {
	const updates: DeliveryUpdate[] = [];
	const letters: DeadLetter[] = [];
	let gone: string | undefined;
	const looks = nextLooks(
		[...new Set(work.flatMap((w) => w.messages))].map((m) => ({
			keys: itemsOf(m.body).map((i) =>
				keyString([i.sourceId, i.event.messageId]),
			),
		})),
		decisions,
	);
	const held = work.flatMap((w) => {
		const seconds = looks.get(w.key);
		return decisions.get(w.key)?.status === "held" && seconds !== undefined
			? [
					{
						sourceId: w.item.sourceId,
						messageId: w.item.event.messageId,
						nextAttemptAt: new Date(at + seconds * 1000),
					},
				]
			: [];
	});
	for (const w of work) {
		const d = decisions.get(w.key);
		if (
			!d ||
			d.status === "skipped" ||
			d.status === "held" ||
			d.status === "erased"
		)
			continue;
		const update: DeliveryUpdate = {
			sourceId: w.item.sourceId,
			messageId: w.item.event.messageId,
			status: d.status,
			attempts: d.attempts,
		};
		if (d.lastStatus !== undefined) update.lastStatus = d.lastStatus;
		if (d.error !== undefined) update.lastError = d.error;
		const next = looks.get(w.key) ?? d.delaySeconds;
		if (next !== undefined) update.nextAttemptAt = new Date(at + next * 1000);
		updates.push(update);
		if (d.disable) gone = d.error;
		if (d.status !== "failed" && d.status !== "dead") continue;
		const letter: DeadLetter = {
			destinationId,
			destinationType,
			sourceId: w.item.sourceId,
			messageId: w.item.event.messageId,
			status: d.status,
			attempts: d.attempts,
			error: d.error ?? d.status,
			at: new Date(at).toISOString(),
		};
		if (d.lastStatus !== undefined) letter.lastStatus = d.lastStatus;
		if (d.responseBody !== undefined) letter.responseBody = d.responseBody;
		const body = w.messages[0]?.body;
		if (body?.kind === "deletion") letter.deletion = body.deletion;
		else letter.event = w.item.event;
		letters.push(letter);
	}
	await recordResults(env.DB, destinationId, updates, new Date(at));
	await recordHeld(env.DB, destinationId, held, new Date(at));
	await deadLetter(env, letters);
	if (gone) await disableDestination(env.DB, destinationId, gone, new Date(at));
}

/** The profile of an event (a deletion's pseudo-event is the erasure itself: never dropped). */
function profileIdOf(w: Work): string[] {
	const profileId = w.item.event.context.profileId;
	return w.item.sourceId !== "" && typeof profileId === "string"
		? [profileId]
		: [];
}

function eventTime(w: Work): string {
	return new Date(w.item.event.timestamp).toISOString();
}
