import type { Destination } from "../config/destinations";
import { loadConfig } from "../config/load";
import { MissingSecretError, resolveSecret } from "../config/secret";
import {
	type DeliveryState,
	type DeliveryUpdate,
	deliveryStates,
	FINAL_STATUSES,
	heldBack,
	keyString,
	recordResults,
	recordRouted,
} from "../db/deliveries";
import {
	disableDestination,
	disabledDestinations,
} from "../db/destination-state";
import { destinationType } from "../destinations/registry";
import type {
	DeliveryItem,
	DestinationType,
	SendContext,
	Verdict,
} from "../destinations/types";
import { profileKeyOf } from "../routing/route";
import { backoffSeconds, nextDelaySeconds } from "./backoff";
import { chunk } from "./chunk";
import { type DeadLetter, deadLetter } from "./dead-letter";
import { MAX_EVENTS_PER_MESSAGE } from "./fanout";
import { applyMapping } from "./mapping";
import { type DeliveryMessage, enqueueAll } from "./messages";

/**
 * Per-profile ordering waits for an earlier event only while that event is still being worked
 * on; one whose next attempt is more than this long overdue (its message lost, say) stops
 * holding the profile back.
 */
const ORDERING_STALE_MS = 10 * 60 * 1000;
/** Longest a held-back event waits before it is looked at again. */
const MAX_HOLD_SECONDS = 3600;

/** One event of the batch, with the messages that carry it. */
interface Work {
	item: DeliveryItem;
	key: string;
	state: DeliveryState;
	messages: Message<DeliveryMessage>[];
}

/** What happened to each event, by key: its new status and, if it waits, for how long. */
interface Decision {
	status: DeliveryUpdate["status"] | "held";
	delaySeconds?: number;
}

/**
 * The DELIVERIES queue consumer. Messages are grouped by destination and each group runs on
 * its own (Promise.all over groups, each with its own error handling): this is the isolated
 * fan-out stage — one destination failing or slow never fails, retries or re-sends another's
 * messages. Within a group: skip what the log says is already final, hold back events whose
 * profile has an earlier event still in flight (destinations with per-profile ordering), map,
 * send in the destination's batch size, classify each event's verdict, write the log, dead-letter
 * what failed for good, then ack, retry (with backoff or Retry-After) or re-queue each message.
 *
 * @example
 * export default { queue: (batch, env) => consumeDeliveries(batch, env) };
 */
export async function consumeDeliveries(
	batch: MessageBatch<DeliveryMessage>,
	env: Env,
	now: () => number = Date.now,
): Promise<void> {
	let config: Awaited<ReturnType<typeof loadConfig>>;
	let disabled: Set<string>;
	try {
		config = await loadConfig(env);
		disabled = await disabledDestinations(env.DB);
	} catch (error) {
		const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
		console.error(
			JSON.stringify({
				msg: "delivery batch cannot start; retrying",
				error: String(error),
			}),
		);
		batch.retryAll({
			delaySeconds: backoffSeconds(attempts, {
				baseDelaySeconds: 5,
				maxDelaySeconds: 300,
			}),
		});
		return;
	}
	const groups = new Map<string, Message<DeliveryMessage>[]>();
	for (const message of batch.messages) {
		const id = message.body.destinationId;
		groups.set(id, [...(groups.get(id) ?? []), message]);
	}
	await Promise.all(
		[...groups].map(async ([destinationId, messages]) => {
			try {
				const destination = config.destinationsById.get(destinationId);
				await deliverGroup(
					env,
					destinationId,
					destination,
					disabled.has(destinationId),
					messages,
					now,
				);
			} catch (error) {
				// Isolated: this destination's messages are retried, no other group is touched.
				const attempts = Math.max(1, ...messages.map((m) => m.attempts));
				console.error(
					JSON.stringify({
						msg: "delivery group failed; retrying",
						destinationId,
						error: String(error),
					}),
				);
				for (const message of messages)
					message.retry({
						delaySeconds: backoffSeconds(attempts, {
							baseDelaySeconds: 5,
							maxDelaySeconds: 300,
						}),
					});
			}
		}),
	);
}

async function deliverGroup(
	env: Env,
	destinationId: string,
	destination: Destination | undefined,
	isDisabled: boolean,
	messages: Message<DeliveryMessage>[],
	now: () => number,
): Promise<void> {
	const started = now();
	const work = collectWork(messages);
	const keys = [...work.values()].map(
		(w) => [w.item.sourceId, w.item.event.messageId] as const,
	);
	const states = await deliveryStates(env.DB, destinationId, keys);
	const missing = [...work.values()].filter((w) => !states.has(w.key));
	// A message whose log row is gone (the log was cleaned, or it was queued by hand): log it now.
	if (missing.length > 0)
		await recordRouted(
			env.DB,
			missing.map((w) => routedRow(destinationId, w.item)),
			new Date(started),
		);
	const live: Work[] = [];
	for (const w of work.values()) {
		w.state = states.get(w.key) ?? w.state;
		if (!FINAL_STATUSES.has(w.state.status)) live.push(w);
	}
	const decisions = new Map<string, Decision>();
	const updates: DeliveryUpdate[] = [];
	const letters: DeadLetter[] = [];

	const unusable = !destination
		? "destination no longer configured"
		: !destination.enabled
			? "destination disabled in the config"
			: isDisabled
				? "destination disabled after its receiver answered 410 Gone"
				: undefined;
	if (unusable || !destination) {
		for (const w of live) {
			const verdict: Verdict = {
				outcome: "fatal",
				error: unusable ?? "unusable",
			};
			settle(
				w,
				verdict,
				destinationId,
				destination?.type ?? "unknown",
				1,
				undefined,
				started,
				decisions,
				updates,
				letters,
				false,
			);
		}
	} else {
		await sendToDestination(
			env,
			destination,
			live,
			started,
			now,
			decisions,
			updates,
			letters,
		);
	}

	await recordResults(env.DB, destinationId, updates, new Date(now()));
	await deadLetter(env, letters);
	await settleMessages(env, messages, work, decisions, now);
	const counts: Record<string, number> = {};
	for (const d of decisions.values())
		counts[d.status] = (counts[d.status] ?? 0) + 1;
	console.log(
		JSON.stringify({
			msg: "delivery",
			destinationId,
			events: live.length,
			...counts,
			ms: now() - started,
		}),
	);
}

function collectWork(messages: Message<DeliveryMessage>[]): Map<string, Work> {
	const work = new Map<string, Work>();
	for (const message of messages) {
		const body = message.body;
		const items: DeliveryItem[] =
			body.kind === "events"
				? body.items
				: [{ sourceId: "", event: deletionEvent(body.deletion) }];
		for (const item of items) {
			const key = keyString([item.sourceId, item.event.messageId]);
			const known = work.get(key);
			if (known) known.messages.push(message);
			else
				work.set(key, {
					item,
					key,
					state: { status: "pending", attempts: 0 },
					messages: [message],
				});
		}
	}
	return work;
}

async function sendToDestination(
	env: Env,
	destination: Destination,
	live: Work[],
	started: number,
	now: () => number,
	decisions: Map<string, Decision>,
	updates: DeliveryUpdate[],
	letters: DeadLetter[],
): Promise<void> {
	const module = destinationType(destination.type);
	const ctx = sendContext(env, destination, now);
	const ordered = (destination.ordering ?? module.ordering) === "profile";
	const sendable: Work[] = [];
	if (ordered) {
		const held = await heldBack(
			env.DB,
			destination.id,
			live.flatMap((w) => {
				const profileKey = profileKeyOf(w.item.event);
				return profileKey && !isDeletion(w)
					? [
							{
								key: [w.item.sourceId, w.item.event.messageId] as const,
								profileKey,
								eventTime: eventTime(w),
							},
						]
					: [];
			}),
			new Date(started - ORDERING_STALE_MS),
		);
		for (const w of live) {
			const until = held.get(w.key);
			if (until)
				decisions.set(w.key, {
					status: "held",
					delaySeconds: holdSeconds(until, started),
				});
			else sendable.push(w);
		}
	} else sendable.push(...live);

	const deletions = sendable.filter(isDeletion);
	const events = sendable
		.filter((w) => !isDeletion(w))
		.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
	const batchSize = Math.min(
		destination.batchSize ?? module.maxBatchEvents,
		module.maxBatchEvents,
	);
	let stopped: number | undefined;
	for (const part of chunk(events, {
		maxItems: batchSize,
		maxBytes: Number.POSITIVE_INFINITY,
		sizeOf: () => 0,
	})) {
		if (stopped !== undefined) {
			// An earlier chunk of this ordered destination must be retried first: hold these back.
			for (const w of part)
				decisions.set(w.key, { status: "held", delaySeconds: stopped });
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
			settle(
				w,
				verdicts[i] as Verdict,
				destination.id,
				destination.type,
				destination.retry.maxAttempts,
				destination.retry,
				now(),
				decisions,
				updates,
				letters,
				true,
			);
		});
		const retry = part
			.map((w) => decisions.get(w.key))
			.find((d) => d?.status === "retrying");
		if (ordered && retry) stopped = retry.delaySeconds;
	}
	for (const w of deletions) {
		const body = w.messages[0]?.body;
		if (body?.kind !== "deletion") continue;
		const verdict = await guarded(1, async () => [
			await deleteWith(module, body.deletion, ctx),
		]);
		settle(
			w,
			verdict[0] as Verdict,
			destination.id,
			destination.type,
			destination.retry.maxAttempts,
			destination.retry,
			now(),
			decisions,
			updates,
			letters,
			true,
		);
	}
	const gone = updates.find((u) => u.lastError?.startsWith("410 Gone"));
	if (gone)
		await disableDestination(
			env.DB,
			destination.id,
			gone.lastError ?? "410 Gone",
			new Date(now()),
		);
}

async function deleteWith(
	module: DestinationType<unknown>,
	deletion: Extract<DeliveryMessage, { kind: "deletion" }>["deletion"],
	ctx: SendContext<unknown>,
): Promise<Verdict> {
	if (!module.deleteProfile || !module.supportsDeletion?.(ctx.settings))
		return {
			outcome: "dropped",
			error: `${module.type} destinations do not forward deletions with these settings`,
		};
	return module.deleteProfile(deletion, ctx);
}

/** A send that throws (a missing secret, a bug) gives every event of the request the same verdict. */
async function guarded(
	count: number,
	send: () => Promise<Verdict[]>,
): Promise<Verdict[]> {
	try {
		return await send();
	} catch (error) {
		const verdict: Verdict =
			error instanceof MissingSecretError
				? { outcome: "fatal", error: error.message }
				: { outcome: "retry-later", error: `send failed: ${String(error)}` };
		return Array.from({ length: count }, () => verdict);
	}
}

/** Turns one event's verdict into its log update, dead letter and decision. */
function settle(
	w: Work,
	verdict: Verdict,
	destinationId: string,
	destinationType: string,
	maxAttempts: number,
	policy: Destination["retry"] | undefined,
	at: number,
	decisions: Map<string, Decision>,
	updates: DeliveryUpdate[],
	letters: DeadLetter[],
	attempted: boolean,
): void {
	const attempts = w.state.attempts + (attempted ? 1 : 0);
	const base = {
		sourceId: w.item.sourceId,
		messageId: w.item.event.messageId,
		attempted,
	};
	const status = "status" in verdict ? verdict.status : undefined;
	const letter = (
		kind: "failed" | "dead",
		error: string,
		responseBody?: string,
	) => {
		const entry: DeadLetter = {
			destinationId,
			destinationType,
			sourceId: w.item.sourceId,
			messageId: w.item.event.messageId,
			status: kind,
			attempts,
			error,
			at: new Date(at).toISOString(),
		};
		if (status !== undefined) entry.lastStatus = status;
		if (responseBody !== undefined) entry.responseBody = responseBody;
		const body = w.messages[0]?.body;
		if (body?.kind === "deletion") entry.deletion = body.deletion;
		else entry.event = w.item.event;
		letters.push(entry);
	};
	switch (verdict.outcome) {
		case "ok":
			updates.push({ ...base, status: "delivered", lastStatus: status });
			decisions.set(w.key, { status: "delivered" });
			return;
		case "dropped":
			updates.push({ ...base, status: "dropped", lastError: verdict.error });
			decisions.set(w.key, { status: "dropped" });
			return;
		case "fatal":
		case "too-large":
			updates.push({
				...base,
				status: "failed",
				lastStatus: status,
				lastError: verdict.error,
			});
			letter(
				"failed",
				verdict.error,
				verdict.outcome === "fatal" ? verdict.responseBody : undefined,
			);
			decisions.set(w.key, { status: "failed" });
			return;
		case "retry-later": {
			if (attempts >= maxAttempts || !policy) {
				const error = `gave up after ${attempts} attempts: ${verdict.error}`;
				updates.push({
					...base,
					status: "dead",
					lastStatus: status,
					lastError: error,
				});
				letter("dead", error);
				decisions.set(w.key, { status: "dead" });
				return;
			}
			const delaySeconds = nextDelaySeconds(
				attempts,
				policy,
				verdict.retryAfterSeconds,
			);
			updates.push({
				...base,
				status: "retrying",
				lastStatus: status,
				lastError: verdict.error,
				nextAttemptAt: new Date(at + delaySeconds * 1000),
			});
			decisions.set(w.key, { status: "retrying", delaySeconds });
		}
	}
}

/**
 * Acks, retries or re-queues each message by what happened to its events: any event to retry →
 * the message is retried after the longest delay its events need (the log skips the ones
 * already delivered next time); else any event held back for ordering → those events go back on
 * the queue, delayed, in a new message (a hold is not a failed attempt); else ack.
 */
async function settleMessages(
	env: Env,
	messages: Message<DeliveryMessage>[],
	work: Map<string, Work>,
	decisions: Map<string, Decision>,
	now: () => number,
): Promise<void> {
	const requeue = new Map<number, DeliveryItem[]>();
	for (const message of messages) {
		const mine = [...work.values()].filter((w) => w.messages.includes(message));
		const retries = mine
			.map((w) => decisions.get(w.key))
			.filter((d) => d?.status === "retrying");
		if (retries.length > 0) {
			message.retry({
				delaySeconds: Math.max(...retries.map((d) => d?.delaySeconds ?? 0)),
			});
			continue;
		}
		for (const w of mine) {
			const decision = decisions.get(w.key);
			if (decision?.status !== "held" || message.body.kind !== "events")
				continue;
			if (w.messages[0] !== message) continue; // re-queued once, by its first message
			const delay = decision.delaySeconds ?? 1;
			requeue.set(delay, [...(requeue.get(delay) ?? []), w.item]);
		}
		message.ack();
	}
	const destinationId = messages[0]?.body.destinationId;
	if (!destinationId) return;
	for (const [delay, items] of requeue) {
		const parts = chunk(items, {
			maxItems: MAX_EVENTS_PER_MESSAGE,
			maxBytes: Number.POSITIVE_INFINITY,
			sizeOf: () => 0,
		});
		await enqueueAll<DeliveryMessage>(
			env.DELIVERIES,
			parts.map((part) => ({ kind: "events", destinationId, items: part })),
			delay,
		);
	}
	void now;
}

function sendContext(
	env: Env,
	destination: Destination,
	now: () => number,
): SendContext<unknown> {
	return {
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
}

function holdSeconds(until: string, now: number): number {
	const seconds = Math.ceil((Date.parse(until) - now) / 1000) + 1;
	return Math.min(MAX_HOLD_SECONDS, Math.max(1, seconds));
}

function isDeletion(w: Work): boolean {
	return (
		w.item.sourceId === "" && w.item.event.messageId.startsWith("deletion:")
	);
}

function eventTime(w: Work): string {
	return new Date(w.item.event.timestamp).toISOString();
}

function routedRow(destinationId: string, item: DeliveryItem) {
	const deletion = isDeletion({ item } as Work);
	return {
		destinationId,
		sourceId: item.sourceId,
		messageId: item.event.messageId,
		kind: deletion ? ("deletion" as const) : ("event" as const),
		profileKey: profileKeyOf(item.event),
		eventTime: new Date(item.event.timestamp).toISOString(),
	};
}

/** A deletion as a pseudo-event, so the log, dedup and dead-lettering treat both alike. */
function deletionEvent(
	deletion: Extract<DeliveryMessage, { kind: "deletion" }>["deletion"],
) {
	return {
		type: "identify" as const,
		messageId: `deletion:${deletion.id}`,
		timestamp: deletion.requestedAt,
		receivedAt: deletion.requestedAt,
		context: { profileId: deletion.profileId },
	};
}
