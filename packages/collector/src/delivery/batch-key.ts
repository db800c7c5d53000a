import type { DeliveryItem } from "../destinations/types";
import type { DeliveryMessage } from "./messages";

/*
 * Batch keys name a DELIVERIES message's row in the delivery log (delivery_batches.batch_key).
 * Fan-out derives them from the destination and the events' ids, so running fan-out again on
 * the same events (a retried EVENTS batch) writes the same key and the consumer skips what the
 * first run delivered. A re-send that must not be taken for the original (a replay) gets a
 * fresh key instead.
 */

/**
 * The key of a batch of events for a destination: 128 bits of SHA-256 over the destination id
 * and the events' (sourceId, messageId) in order, base64url (22 characters). Two different
 * batches share a key with odds of about n²/2¹²⁹ — none in practice.
 *
 * @example
 * await contentKey("hooks", [{ sourceId: "web", event }]) // "b:Xq3…" (23 characters)
 */
export async function contentKey(
	destinationId: string,
	items: readonly DeliveryItem[],
	salt = "",
): Promise<string> {
	const text = [
		destinationId,
		salt,
		...items.map((i) => `${i.sourceId}\u001f${i.event.messageId}`),
	].join("\n");
	const digest = await crypto.subtle.digest(
		"SHA-256",
		new TextEncoder().encode(text),
	);
	const bytes = new Uint8Array(digest).subarray(0, 16);
	const base64 = btoa(String.fromCharCode(...bytes));
	return `b:${base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/**
 * The key of one destination's forwarding of one profile deletion.
 *
 * @example
 * deletionKey(7, "hooks") // "deletion:7:hooks"
 */
export function deletionKey(deletionId: number, destinationId: string): string {
	return `deletion:${deletionId}:${destinationId}`;
}

/**
 * The key a message queued without one (before batch keys existed, or by hand) gets, one per
 * event: the same key migrations/0011 gave the event's row in flight.
 *
 * @example
 * legacyKey("hooks", { sourceId: "web", event }) // "legacy:hooks:web:m1"
 */
export function legacyKey(destinationId: string, item: DeliveryItem): string {
	return `legacy:${destinationId}:${item.sourceId}:${item.event.messageId}`;
}

/**
 * A fresh key, for a re-send that is new work (a replay), never a copy of an earlier message.
 *
 * @example
 * freshKey() // "r:0b9c…"
 */
export function freshKey(): string {
	return `r:${crypto.randomUUID()}`;
}

/**
 * Messages with their events keyed by content (fan-out), or with fresh keys (replay).
 *
 * @example
 * await keyed(eventMessages("hooks", items, 100), "content")
 */
export async function keyed(
	messages: readonly DeliveryMessage[],
	how: "content" | "fresh",
): Promise<DeliveryMessage[]> {
	return Promise.all(
		messages.map(async (message) => {
			if (how === "fresh") return { ...message, batch: freshKey() };
			if (message.kind === "deletion")
				return {
					...message,
					batch: deletionKey(message.deletion.id, message.destinationId),
				};
			return {
				...message,
				batch: await contentKey(message.destinationId, message.items),
			};
		}),
	);
}
