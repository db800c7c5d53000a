import { loadConfig } from "../config/load";
import {
	bodyHash,
	failuresOf,
	forgetFailuresStatement,
} from "../db/event-failures";
import { eventParkInput, type ParkInput, parkStatements } from "../db/parked";
import { releaseStatement, seenKey } from "../db/seen";
import { errorText } from "../errors";
import type { EnrichedEvent } from "../event";
import { decodeMessage, malformedRows } from "../ingest/message";
import { erasedEvents } from "../parked/erased";
import { retryBatchLater } from "./retry";

/**
 * The conduit-events-dlq consumer: the EVENTS consumer gave up on these messages after
 * max_retries (an event that failed on its own every time, or an outage longer than the
 * retries). Each event is parked (`dead_lettered`) with the last error the consumer recorded
 * for its message (db/event-failures.ts), and its unfinished window row is released so a replay
 * can finish it; an event whose person was erased since is dropped instead (parked/erased.ts),
 * its window row left claimed, so a copy sent again is not stored either.
 * Must pass as a whole: one D1 batch parks everything, and if D1 is unavailable every message
 * is retried with backoff. Parking is idempotent, so a redelivered dead letter parks nothing
 * twice.
 *
 * @example
 * if (batch.queue === "conduit-events-dlq") return consumeEventDeadLetters(batch, env);
 */
export async function consumeEventDeadLetters(
	batch: MessageBatch<unknown>,
	env: Env,
): Promise<void> {
	try {
		const now = new Date();
		const hashes = await Promise.all(
			batch.messages.map((m) => bodyHash(m.body)),
		);
		const [failures, config] = await Promise.all([
			failuresOf(env.DB, hashes),
			loadConfig(env),
		]);
		const rows: ParkInput[] = [];
		const events: { sourceId: string; event: EnrichedEvent; json: string }[] =
			[];
		const errors: string[] = [];
		batch.messages.forEach((message, i) => {
			const failure = failures.get(hashes[i] ?? "");
			const error = failure
				? `gave up after ${failure.attempts} attempts; last error: ${failure.error}`
				: "gave up after max_retries; no error was recorded (D1 was unavailable when the batch failed)";
			const decoded = decodeMessage(message.body);
			rows.push(...malformedRows(decoded));
			if (!decoded.ok) return;
			const { sourceId } = decoded.message;
			for (const { event, json } of decoded.message.events) {
				events.push({ sourceId, event, json });
				errors.push(error);
			}
		});
		const erased = await erasedEvents(env.DB, config, events, now);
		const kept = events.filter((_, i) => !erased[i]);
		events.forEach((item, i) => {
			if (!erased[i])
				rows.push(
					eventParkInput(
						item,
						"dead_lettered",
						errors[i] ?? "gave up after max_retries",
					),
				);
		});
		await env.DB.batch([
			...parkStatements(env.DB, rows, now),
			releaseStatement(
				env.DB,
				await Promise.all(
					kept.map(({ sourceId, event }) => seenKey(sourceId, event.messageId)),
				),
			),
			forgetFailuresStatement(env.DB, hashes),
		]);
		console.warn(
			JSON.stringify({
				msg: "dead-lettered events parked",
				messages: batch.messages.length,
				parked: rows.length,
				erased: events.length - kept.length,
			}),
		);
		batch.ackAll();
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "parking dead-lettered events failed; retrying",
				messages: batch.messages.length,
				error: errorText(error),
			}),
		);
		retryBatchLater(batch);
	}
}
