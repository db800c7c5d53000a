import type { LoggedWork } from "../db/deliveries";
import type { DeliveryItem, ProfileDeletion } from "../destinations/types";
import type { EnrichedEvent } from "../event";
import { MAX_EVENTS_PER_MESSAGE } from "./fanout";
import { type DeliveryMessage, eventMessages } from "./messages";

/** What a log row becomes again: an event to send, or a deletion to forward. */
export type Rebuilt =
	| { kind: "event"; item: DeliveryItem }
	| { kind: "deletion"; deletion: ProfileDeletion };

/**
 * The work a delivery-log row stands for, rebuilt from storage for a replay or the sweeper, or
 * undefined when it is gone (the event is past retention or was erased; the deletion record
 * is gone). An event goes out with the values the collector resolved, not the client's: its
 * `context.profileId` is the stored `events.profile_id` (absent when the event has no profile).
 *
 * @example
 * rebuild({ kind: "event", source_id: "web", payload: '{"messageId":"m1",…,"context":{"profileId":"forged"}}', event_profile_id: "prof_1", … })
 * // { kind: "event", item: { sourceId: "web", event: { messageId: "m1", …, context: { profileId: "prof_1" } } } }
 */
export function rebuild(row: LoggedWork): Rebuilt | undefined {
	if (row.kind === "deletion")
		return row.deletion_id === null
			? undefined
			: { kind: "deletion", deletion: deletionOf(row) };
	const event = storedEvent(row.payload);
	if (!event) return undefined;
	const { profileId: _stored, ...context } = event.context;
	if (row.event_profile_id) context.profileId = row.event_profile_id;
	return {
		kind: "event",
		item: { sourceId: row.source_id, event: { ...event, context } },
	};
}

/**
 * One destination's rebuilt work as DELIVERIES messages: events in messages of its batch size
 * (at most {@link MAX_EVENTS_PER_MESSAGE}), one message per deletion.
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

/** The stored payload as an event, when it still is one (an erased row holds `{}`). */
function storedEvent(payload: string | null): EnrichedEvent | undefined {
	if (!payload) return undefined;
	let event: unknown;
	try {
		event = JSON.parse(payload);
	} catch {
		// Storage took it as JSON, so this cannot happen short of a corrupted row: such a row
		// is as gone as a deleted one.
		return undefined;
	}
	if (typeof event !== "object" || event === null) return undefined;
	const e = event as Partial<EnrichedEvent>;
	if (typeof e.messageId !== "string" || typeof e.timestamp !== "string")
		return undefined;
	return { ...e, context: e.context ?? {} } as EnrichedEvent;
}

function deletionOf(row: LoggedWork): ProfileDeletion {
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
