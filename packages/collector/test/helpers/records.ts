import { env } from "cloudflare:workers";
import type { QueuedEvent } from "../../src/event";
import { RECORDS_PREFIX } from "../../src/records/key";
import { readRecords } from "../../src/records/records";

/** One stored event and the object holding it. */
export interface RecordedEvent extends QueuedEvent {
	key: string;
}

/** Decoded objects by key and etag: polling reads only what changed. */
const decoded = new Map<string, { etag: string; events: QueuedEvent[] }>();

/**
 * Every event of record in the local RECORDS bucket (the real R2 binding the consumer writes),
 * each with its object's key: an event in two objects appears twice.
 *
 * @example
 * (await recordedEvents()).filter((e) => e.event.messageId === "m1").length // 1
 */
export async function recordedEvents(
	bucket: R2Bucket = env.RECORDS,
): Promise<RecordedEvent[]> {
	const all: RecordedEvent[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix: RECORDS_PREFIX, cursor });
		for (const { key, etag } of page.objects) {
			let cached = decoded.get(key);
			if (cached?.etag !== etag) {
				const object = await bucket.get(key);
				if (!object) continue;
				cached = {
					etag: object.etag,
					events: await readRecords(await object.arrayBuffer()),
				};
				decoded.set(key, cached);
			}
			for (const item of cached.events) all.push({ ...item, key });
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return all;
}

/**
 * The events of record with these messageIds, as many copies as there are.
 *
 * @example
 * await recordsOf(["m1", "m2"]) // [{ sourceId: "web", event: { messageId: "m1", … }, key: "events/…" }, …]
 */
export async function recordsOf(
	messageIds: readonly string[],
): Promise<RecordedEvent[]> {
	const wanted = new Set(messageIds);
	return (await recordedEvents()).filter((e) => wanted.has(e.event.messageId));
}

/**
 * Polls the events of record until `count` of these messageIds are stored (the queue consumer
 * runs asynchronously after ingest), then returns them. Bounded: answers what there is after
 * `timeoutMs`.
 *
 * @example
 * const stored = await waitForRecords(["m1"]);
 */
export async function waitForRecords(
	messageIds: readonly string[],
	count = messageIds.length,
	timeoutMs = 8000,
): Promise<RecordedEvent[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = await recordsOf(messageIds);
		if (found.length >= count || Date.now() > deadline) return found;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}
