import type { QueuedEvent } from "../event";
import {
	compareCodeUnits,
	RECORDS_PREFIX,
	recordKey,
	recordPartition,
} from "./key";
import { decodeParquet, encodeParquet } from "./parquet";

/*
 * Events of record: the long-term copy of every stored event, as Parquet objects in R2, one per
 * (source, UTC hour of receivedAt) of a queue batch. This module is pure: it turns events into
 * object bodies and keys and back; writing them (and recording which profiles each object holds,
 * for erasure) is the caller's.
 */

/** One object to write: its key, body and what it holds. */
export interface RecordObject {
	/** `events/source=<id>/dt=YYYY-MM-DD/hour=HH/<batch id>.parquet` */
	key: string;
	body: Uint8Array;
	sourceId: string;
	/** The partition's hour, as an ISO instant (`2026-11-01T08:00:00.000Z`). */
	hour: string;
	/** Events in the object. */
	events: number;
	/** The distinct `context.profileId`s of its events, sorted (erasure's index). */
	profileIds: string[];
}

/** The content type to store the objects with. */
export const RECORD_CONTENT_TYPE = "application/vnd.apache.parquet";

/**
 * Turns a batch of stored events (enriched, with `context.profileId` resolved) into one object
 * per (source, UTC hour of `receivedAt`). Rows are ordered by `receivedAt`, then messageId, and
 * the key is derived from the events, so the same events give byte-identical objects at the
 * same keys whatever their order: a redelivered batch overwrites what its first attempt wrote.
 * Events must be unique by (sourceId, messageId).
 *
 * @example
 * const objects = await recordObjects(events);
 * for (const o of objects)
 *   await env.ARCHIVE.put(o.key, o.body, { httpMetadata: { contentType: RECORD_CONTENT_TYPE } });
 */
export async function recordObjects(
	events: readonly QueuedEvent[],
	prefix: string = RECORDS_PREFIX,
): Promise<RecordObject[]> {
	const partitions = new Map<string, QueuedEvent[]>();
	for (const item of events) {
		const partition = recordPartition(item.sourceId, item.event.receivedAt);
		const part = partitions.get(partition);
		if (part) part.push(item);
		else partitions.set(partition, [item]);
	}
	return Promise.all(
		[...partitions].map(async ([partition, part]) => {
			const rows = part
				.map((item) => ({ item, at: Date.parse(item.event.receivedAt) }))
				.sort(
					(a, b) =>
						a.at - b.at ||
						compareCodeUnits(a.item.event.messageId, b.item.event.messageId),
				)
				.map(({ item }) => item);
			const first = rows[0] as QueuedEvent;
			const profileIds = new Set<string>();
			for (const { event } of rows)
				if (typeof event.context.profileId === "string")
					profileIds.add(event.context.profileId);
			return {
				key: await recordKey(
					partition,
					rows.map((r) => [r.sourceId, r.event.messageId] as const),
					prefix,
				),
				body: encodeParquet(rows),
				sourceId: first.sourceId,
				hour: `${new Date(first.event.receivedAt).toISOString().slice(0, 13)}:00:00.000Z`,
				events: rows.length,
				profileIds: [...profileIds].sort(compareCodeUnits),
			};
		}),
	);
}

/**
 * Reads an events-of-record object back into its events (for backfill, replay and the erasure
 * rewrite), in the object's order.
 *
 * @example
 * const object = await env.ARCHIVE.get(key);
 * const events = await readRecords(await object!.arrayBuffer()); // [{ sourceId, event }, …]
 */
export function readRecords(body: ArrayBuffer): Promise<QueuedEvent[]> {
	return decodeParquet(body);
}
