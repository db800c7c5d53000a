import { loadConfig } from "../config/load";
import { type ParkInput, park } from "../db/parked";
import type { DeadLetter } from "../delivery/dead-letter";
import { errorText } from "../errors";
import type { EnrichedEvent } from "../event";
import { erasedEvents } from "../parked/erased";
import { retryBatchLater } from "./retry";

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
		retryBatchLater(batch);
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
