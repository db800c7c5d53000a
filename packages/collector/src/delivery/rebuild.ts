import type { InFlightBatch } from "../db/delivery-batches";
import type { FailedWork } from "../db/delivery-failures";
import type { DeliveryItem, ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../event";
import { MAX_EVENTS_PER_MESSAGE } from "./fanout";
import { type DeliveryMessage, eventMessages } from "./messages";

/** What a failure row becomes again: an event to send, or a deletion to forward. */
export type Rebuilt =
	| { kind: "event"; item: DeliveryItem }
	| { kind: "deletion"; deletion: ProfileDeletion };

/**
 * The work a failure row stands for, rebuilt for a replay, or undefined when it is gone (a
 * dropped event keeps no payload; the deletion record is gone). An event goes out as fan-out
 * routed it: its `context.profileId` is the profile identity resolved it to then.
 *
 * @example
 * rebuild({ kind: "event", source_id: "web", payload: '{"messageId":"m1",…,"context":{"profileId":"prof_1"}}', … })
 * // { kind: "event", item: { sourceId: "web", event: { messageId: "m1", …, context: { profileId: "prof_1" } } } }
 */
export function rebuild(row: FailedWork): Rebuilt | undefined {
	if (row.kind === "deletion")
		return row.deletion_id === null
			? undefined
			: { kind: "deletion", deletion: deletionOf(row) };
	const event = storedEvent(row.payload);
	return event && { kind: "event", item: { sourceId: row.source_id, event } };
}

/**
 * The message a batch in flight keeps as its body, or undefined when it holds none that can be
 * sent (a corrupted row).
 *
 * @example
 * bodyOf({ body: '{"kind":"events","destinationId":"hooks","batch":"b:…","items":[…]}', … }) // { kind: "events", … }
 */
export function bodyOf(batch: InFlightBatch): DeliveryMessage | undefined {
	if (!batch.body) return undefined;
	let body: unknown;
	try {
		body = JSON.parse(batch.body);
	} catch {
		// The log wrote it with JSON.stringify: a body that does not parse is as gone as none.
		return undefined;
	}
	const message = body as Partial<DeliveryMessage>;
	if (message?.kind === "events" && Array.isArray(message.items))
		return { ...(message as DeliveryMessage), batch: batch.batch_key };
	if (message?.kind === "deletion" && typeof message.deletion === "object")
		return { ...(message as DeliveryMessage), batch: batch.batch_key };
	return undefined;
}

/**
 * One destination's rebuilt work as DELIVERIES messages (not keyed yet): events in messages of
 * its batch size (at most {@link MAX_EVENTS_PER_MESSAGE}), one message per deletion.
 *
 * @example
 * requeueMessages("hooks", 50, rebuilt) // [{ kind: "events", destinationId: "hooks", items }, …]
 */
export function requeueMessages(
	destinationId: string,
	batchSize: number | undefined,
	rebuilt: readonly Rebuilt[],
): DeliveryMessage[] {
	const items: DeliveryItem[] = [];
	const deletions: DeliveryMessage[] = [];
	for (const work of rebuilt) {
		if (work.kind === "event") items.push(work.item);
		else
			deletions.push({
				kind: "deletion",
				destinationId,
				deletion: work.deletion,
			});
	}
	return [
		...eventMessages(
			destinationId,
			items,
			Math.min(batchSize ?? MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_MESSAGE),
		),
		...deletions,
	];
}

/** The stored payload as an event, when it still is one. */
function storedEvent(payload: string | null): EnrichedEvent | undefined {
	if (!payload) return undefined;
	let event: unknown;
	try {
		event = JSON.parse(payload);
	} catch {
		// The log wrote it as JSON, so this cannot happen short of a corrupted row: such a row
		// is as gone as a deleted one.
		return undefined;
	}
	if (typeof event !== "object" || event === null) return undefined;
	const e = event as Partial<EnrichedEvent>;
	if (typeof e.messageId !== "string" || typeof e.timestamp !== "string")
		return undefined;
	return { ...e, context: e.context ?? {} } as EnrichedEvent;
}

function deletionOf(row: FailedWork): ProfileDeletion {
	let identities: ProfileDeletion["identities"] = [];
	try {
		const parsed = JSON.parse(row.identities ?? "[]") as unknown;
		if (Array.isArray(parsed))
			identities = parsed.filter(
				(i): i is { type: string; value: string } =>
					typeof i?.type === "string" && typeof i?.value === "string",
			);
	} catch {
		// A malformed identities column still deletes by profile id; destinations that need an
		// identity (Segment: a userId) drop it with a reason.
		identities = [];
	}
	return {
		id: row.deletion_id ?? 0,
		profileId: row.profile_id ?? "",
		identities,
		requestedAt: row.requested_at ?? "",
	};
}
