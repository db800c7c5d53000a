import type { DeliveryStatus } from "../db/deliveries";
import type { ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../types";
import { enqueueAll } from "./messages";

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
 * failed or dead), and `npm run replay` re-sends from the log; the queue is there so an operator
 * or another system can consume them.
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
