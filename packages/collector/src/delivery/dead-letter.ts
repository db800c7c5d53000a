import { loadConfig } from "../config/load";
import type { DeliveryStatus } from "../db/deliveries";
import { type ParkInput, park } from "../db/parked";
import type { ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../event";
import { erasedEvents } from "../parked/erased";
import { errorText } from "../queues/isolate";
import { backoffSeconds } from "./backoff";
import { enqueueAll } from "./messages";

/*
 * The dead-letter flow of deliveries. A destination that gives up on an event (a fatal answer,
 * or retry.maxAttempts used up) records it in the delivery log (failed or dead) and sends a
 * DeadLetter to conduit-deliveries-dlq (deadLetter below). This Worker consumes that queue and
 * parks each letter in D1 (`delivery` rows, reason `delivery_dead`), where `npm run parked` and
 * /admin/parked list, show and replay them; another system may consume the queue instead. A
 * letter whose person was erased since is dropped, never parked. Deletion forwards that fail
 * carry the erased person's identifiers: they are not copied to parked, they stay in the
 * delivery log (dead), from where `npm run replay` re-sends them.
 */

/** What the dead-letter queue holds for one event (or deletion) a destination will not get. */
export interface DeadLetter {
	destinationId: string;
	destinationType: string;
	sourceId: string;
	messageId: string;
	status: Extract<DeliveryStatus, "failed" | "dead">;
	attempts: number;
	lastStatus?: number;
	error: string;
	/** The destination's response body (truncated), when it answered. */
	responseBody?: string;
	event?: EnrichedEvent;
	deletion?: ProfileDeletion;
	at: string;
}

/**
 * Sends dead letters to DELIVERIES_DLQ. The delivery log already records each one (status
 * failed or dead), and `npm run replay` re-sends from the log; the queue's consumer
 * ({@link consumeDeliveryDeadLetters}) parks them for an operator, and other systems may read it.
 *
 * @example
 * await deadLetter(env, [{ destinationId: "hooks", status: "failed", error: "HTTP 400: …", … }]);
 */
export async function deadLetter(
	env: Pick<Env, "DELIVERIES_DLQ">,
	letters: readonly DeadLetter[],
): Promise<void> {
	if (letters.length === 0) return;
	await enqueueAll(env.DELIVERIES_DLQ, letters);
}

/** Backoff while D1 or the config cannot be read: the letters wait in their queue. */
const RETRY = { baseDelaySeconds: 10, maxDelaySeconds: 300 };

/**
 * The conduit-deliveries-dlq consumer: parks each event letter (kind `delivery`, reason
 * `delivery_dead`) with its destination, status, attempts, the vendor's answer, and the
 * profile, user and anonymous ids of the event (so erasure finds the row). Drops letters whose
 * person was erased since (parked/erased.ts) and deletion letters (see the notes above). Must
 * pass as a whole: if D1 or the config is unavailable, the batch is retried with backoff;
 * parking is idempotent.
 *
 * @example
 * if (batch.queue === "conduit-deliveries-dlq") return consumeDeliveryDeadLetters(batch, env);
 */
export async function consumeDeliveryDeadLetters(
	batch: MessageBatch<DeadLetter>,
	env: Env,
): Promise<void> {
	try {
		const now = new Date();
		const letters = batch.messages.map((m) => m.body);
		const withEvents = letters.filter(
			(l): l is DeadLetter & { event: EnrichedEvent } =>
				typeof l?.event === "object" && l.event !== null,
		);
		const erased = await erasedEvents(
			env.DB,
			await loadConfig(env),
			withEvents.map((l) => ({ sourceId: l.sourceId, event: l.event })),
			now,
		);
		const rows: ParkInput[] = withEvents
			.filter((_, i) => !erased[i])
			.map((letter) => parkedLetter(letter));
		await park(env.DB, rows, now);
		console.warn(
			JSON.stringify({
				msg: "dead-lettered deliveries parked",
				letters: letters.length,
				parked: rows.length,
				erased: erased.filter(Boolean).length,
				notParked: letters.length - withEvents.length,
			}),
		);
		batch.ackAll();
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "parking dead-lettered deliveries failed; retrying",
				letters: batch.messages.length,
				error: errorText(error),
			}),
		);
		const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
		batch.retryAll({ delaySeconds: backoffSeconds(attempts, RETRY) });
	}
}

function parkedLetter(
	letter: DeadLetter & { event: EnrichedEvent },
): ParkInput {
	const { event } = letter;
	const profileId = event.context?.profileId;
	const answer =
		letter.lastStatus === undefined
			? ""
			: ` (last answer HTTP ${letter.lastStatus})`;
	return {
		kind: "delivery",
		sourceId: letter.sourceId,
		messageId: letter.messageId,
		destinationId: letter.destinationId,
		profileId: typeof profileId === "string" ? profileId : undefined,
		userId: typeof event.userId === "string" ? event.userId : undefined,
		anonymousId:
			typeof event.anonymousId === "string" ? event.anonymousId : undefined,
		reason: "delivery_dead",
		error: `${letter.status} after ${letter.attempts} attempt(s)${answer}: ${letter.error}`,
		payload: JSON.stringify(letter),
	};
}
