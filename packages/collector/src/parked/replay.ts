import * as v from "valibot";
import type { LoadedConfig } from "../config/schema";
import type { EventKey } from "../db/deliveries";
import { requeueDeliveries } from "../db/delivery-failures";
import { enableDestination } from "../db/destination-state";
import {
	listParked,
	markReplayed,
	PARKED_KINDS,
	PARKED_REASONS,
	type ParkedRow,
	parkedByIds,
	reparkRows,
} from "../db/parked";
import { keyed } from "../delivery/batch-key";
import type { DeadLetter } from "../delivery/dead-letter";
import { MAX_EVENTS_PER_MESSAGE } from "../delivery/fanout";
import { enqueueAll, eventMessages } from "../delivery/messages";
import type { DeliveryItem } from "../destinations/types";
import { pack } from "../ingest/message";
import { storedForm } from "../ingest/storable";
import { validateEvent } from "../ingest/validate";

const Id = v.pipe(v.number(), v.integer(), v.minValue(1));

/**
 * The body of `POST /admin/parked/replay`: rows by id (replayed before or not), or one page of
 * the waiting rows of a kind (and reason), continued with `after` = the previous `next`.
 *
 * @example
 * { "ids": [7, 8] }
 * { "kind": "event", "reason": "dead_lettered", "after": 0, "limit": 500 }
 */
export const ParkedReplaySchema = v.union(
	[
		v.strictObject({
			ids: v.pipe(v.array(Id), v.minLength(1), v.maxLength(1000)),
		}),
		v.strictObject({
			kind: v.picklist(PARKED_KINDS),
			reason: v.optional(v.picklist(PARKED_REASONS)),
			after: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
			limit: v.optional(
				v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
				500,
			),
		}),
	],
	'send { "ids": [...] } or { "kind", "reason"?, "after"?, "limit"? }',
);
export type ParkedReplay = v.InferOutput<typeof ParkedReplaySchema>;

/** What one replay call did. */
export interface ParkedReplayResult {
	/** Rows sent on again and marked replayed. */
	replayed: number;
	/** Rows still refused: they stay parked with reason `replay_refused` and this error. */
	refused: { id: number; error: string }[];
	/** Ids asked for that do not exist. */
	missing: number[];
	/** Pass as `after` to continue a page-wise replay; absent on the last page. */
	next?: number;
}

/**
 * Replays parked rows. An event row goes through the same validation ingest applies
 * (ingest/validate.ts) and back onto EVENTS as a normal message (ingest/message.ts `pack`);
 * the consumer deduplicates by messageId and finishes a row released when the event was
 * parked. A delivery row goes back to `pending` in the delivery log and onto DELIVERIES for its
 * destination, as `POST /admin/replay` does (a destination switched off by a 410 is switched
 * on). A row that is refused again stays parked, with reason `replay_refused` and the new
 * error; the others are marked replayed. Idempotent: replaying twice sends messages the
 * consumers recognise as copies.
 *
 * @example
 * await replayParked(env, config, { ids: [7] }, new Date()) // { replayed: 1, refused: [], missing: [] }
 */
export async function replayParked(
	env: Pick<Env, "DB" | "EVENTS" | "DELIVERIES">,
	config: LoadedConfig,
	request: ParkedReplay,
	now: Date,
): Promise<ParkedReplayResult> {
	const rows =
		"ids" in request
			? await parkedByIds(env.DB, request.ids)
			: await listParked(env.DB, request);
	const refused: ParkedReplayResult["refused"] = [];
	const events = new Map<string, { id: number; json: string }[]>();
	const deliveries = new Map<string, { id: number; item: DeliveryItem }[]>();
	for (const row of rows) {
		const prepared =
			row.kind === "event" ? eventOf(row) : deliveryOf(row, config);
		if ("error" in prepared) {
			refused.push({ id: row.id, error: prepared.error });
			continue;
		}
		if ("json" in prepared)
			events.set(row.sourceId, [
				...(events.get(row.sourceId) ?? []),
				{ id: row.id, json: prepared.json },
			]);
		else
			deliveries.set(prepared.destinationId, [
				...(deliveries.get(prepared.destinationId) ?? []),
				{ id: row.id, item: prepared.item },
			]);
	}

	const sends: Promise<unknown>[] = [];
	for (const [sourceId, list] of events)
		for (const body of pack(
			sourceId,
			list.map((e) => e.json),
		))
			sends.push(env.EVENTS.send(body, { contentType: "text" }));
	for (const [destinationId, list] of deliveries) {
		const destination = config.destinationsById.get(destinationId);
		const keys = list.map(
			({ item }): EventKey => [item.sourceId, item.event.messageId],
		);
		sends.push(
			(async () => {
				const again = new Set(
					(await requeueDeliveries(env.DB, destinationId, keys)).map(
						([source, message]) => `${source}\u001f${message}`,
					),
				);
				await enableDestination(env.DB, destinationId);
				// Fresh batch keys: a replay is new work, never taken for the batch that failed.
				await enqueueAll(
					env.DELIVERIES,
					await keyed(
						eventMessages(
							destinationId,
							list
								.map((d) => d.item)
								.filter((item) =>
									again.has(`${item.sourceId}\u001f${item.event.messageId}`),
								),
							Math.min(
								destination?.batchSize ?? MAX_EVENTS_PER_MESSAGE,
								MAX_EVENTS_PER_MESSAGE,
							),
						),
						"fresh",
					),
				);
			})(),
		);
	}
	// A queue or D1 failure here concerns no row in particular: the caller answers 5xx and the
	// operator replays again (nothing is marked yet, and sending twice makes only copies).
	await Promise.all(sends);
	const sent = [...events.values(), ...deliveries.values()].flatMap((list) =>
		list.map((e) => e.id),
	);
	await markReplayed(env.DB, sent, now);
	await reparkRows(
		env.DB,
		refused.map((r) => ({ ...r, reason: "replay_refused" })),
	);

	const result: ParkedReplayResult = {
		replayed: sent.length,
		refused,
		missing:
			"ids" in request
				? request.ids.filter((id) => !rows.some((row) => row.id === id))
				: [],
	};
	const last = rows.at(-1);
	if (!("ids" in request) && last && rows.length === request.limit)
		result.next = last.id;
	return result;
}

/** An event row as the JSON line ingest would have queued, or why it cannot be. */
function eventOf(row: ParkedRow): { json: string } | { error: string } {
	if (row.sourceId === "")
		return { error: "the parked row names no source (a malformed message)" };
	let parsed: unknown;
	try {
		parsed = JSON.parse(row.payload);
	} catch (error) {
		return { error: `the parked payload is not JSON: ${String(error)}` };
	}
	const checked = validateEvent(parsed);
	if (!checked.ok) return { error: checked.error };
	if (!checked.event.messageId)
		return { error: "the parked event has no messageId" };
	const stored = storedForm(checked.event);
	return stored.ok ? { json: stored.json } : { error: stored.error };
}

/** A delivery row as the item to queue for its destination, or why it cannot be. */
function deliveryOf(
	row: ParkedRow,
	config: LoadedConfig,
): { destinationId: string; item: DeliveryItem } | { error: string } {
	let letter: Partial<DeadLetter>;
	try {
		letter = JSON.parse(row.payload) as Partial<DeadLetter>;
	} catch (error) {
		return { error: `the parked payload is not JSON: ${String(error)}` };
	}
	const destinationId = row.destinationId ?? letter.destinationId;
	if (!letter.event || typeof letter.event.messageId !== "string")
		return { error: "the parked dead letter holds no event" };
	if (!destinationId || !config.destinationsById.has(destinationId))
		return {
			error: `destination '${destinationId ?? ""}' is not in the config`,
		};
	return {
		destinationId,
		item: { sourceId: row.sourceId, event: letter.event },
	};
}
