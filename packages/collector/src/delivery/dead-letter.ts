import type { DeliveryStatus } from "../db/deliveries";
import type { ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../event";
import { enqueueAll } from "./messages";

/*
 * The dead-letter flow of deliveries. A destination that gives up on an event (a fatal answer,
 * or retry.maxAttempts used up) records it in the delivery log (failed or dead) and sends a
 * DeadLetter to conduit-deliveries-dlq (deadLetter below). This Worker consumes that queue
 * (queues/deliveries-dlq.ts) and parks each letter in D1 (`delivery` rows, reason
 * `delivery_dead`), where `npm run parked` and /admin/parked list, show and replay them; another system may consume the queue instead. A
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
 * (queues/deliveries-dlq.ts) parks them for an operator, and other systems may read it.
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
