import type { WireObject } from "@conduit/protocol";
import { chunk, jsonBytes } from "../kit/chunk";
import { type DeleteBy, deleteByIds, postDeletion } from "../kit/deletion";
import {
	basicAuth,
	call,
	mayNameRecords,
	repeat,
	sendChunked,
	verdictOf,
} from "../kit/http";
import { insertId } from "../kit/idempotency";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import { joinUrl } from "../kit/settings";
import type {
	DeliveryItem,
	DestinationType,
	SendContext,
	Verdict,
} from "../types";
import type { AmplitudeSettings } from "./settings";

/** HTTP V2 limits: at most 2,000 events and under 1 MB a request. */
const MAX_EVENTS = 2000;
const MAX_BYTES = 1024 * 1024 - 1024;
/**
 * Events reach Amplitude with the userId as user_id, and the User Privacy API cannot delete by
 * device_id; it takes at most 100 users a request.
 */
const DELETE_BY: DeleteBy = {
	types: ["user_id"],
	perRequest: 100,
	none: "the profile had no userId; Amplitude's User Privacy API deletes by user_id or Amplitude ID",
};

/** The parts of Amplitude's 400 body that name events, by index into the request's `events`. */
interface RejectionBody {
	events_with_invalid_fields?: Record<string, number[]>;
	events_with_missing_fields?: Record<string, number[]>;
	events_with_invalid_id_lengths?: Record<string, number[]>;
	silenced_events?: number[];
}

/**
 * `amplitude`: `POST {endpoint}/2/httpapi` with `insert_id` (from the messageId), `user_id`,
 * `device_id` (the anonymousId) and `time` in milliseconds; identify becomes an `$identify`
 * event whose `user_properties.$set` holds the traits. A 400 that names events (invalid or
 * missing fields, short ids, silenced devices) dead-letters those and sends the rest again at once.
 * With `deletion` settings, a deleted profile's userIds go to the User Privacy API
 * (`POST {deletion.endpoint}/api/2/deletions/users`); Amplitude schedules the deletion job.
 *
 * @example
 * registry.amplitude.send(items, ctx)
 */
export const amplitude: DestinationType<AmplitudeSettings> = {
	type: "amplitude",
	displayName: "Amplitude",
	maxBatchEvents: MAX_BATCH_EVENTS.amplitude,
	ordering: "profile",
	async send(items, ctx) {
		const verdicts: Verdict[] = new Array(items.length);
		const events: { index: number; record: WireObject }[] = [];
		for (const [index, item] of items.entries()) {
			if (item.event.type === "group" || item.event.type === "alias")
				verdicts[index] = {
					outcome: "dropped",
					error: `Amplitude's HTTP V2 API has no ${item.event.type} call`,
				};
			else events.push({ index, record: await toAmplitude(item) });
		}
		const parts = chunk(events, {
			maxItems: MAX_EVENTS,
			maxBytes: MAX_BYTES,
			sizeOf: (e) => jsonBytes(e.record) + 1,
		});
		const results = await sendChunked(parts, (part) =>
			sendPart(
				part.map((e) => e.record),
				ctx,
			),
		);
		events.forEach((e, n) => {
			verdicts[e.index] = results[n] as Verdict;
		});
		return verdicts;
	},
	supportsDeletion: (settings) => settings.deletion !== undefined,
	async deleteProfile(deletion, ctx) {
		const settings = ctx.settings.deletion;
		if (!settings)
			return { outcome: "dropped", error: "no 'deletion' settings" };
		const url = joinUrl(settings.endpoint, "/api/2/deletions/users");
		const authorization = basicAuth(
			ctx.secret(ctx.settings.apiKey),
			ctx.secret(settings.secretKey),
		);
		return deleteByIds(deletion, DELETE_BY, (users) =>
			postDeletion(ctx, url, authorization, {
				user_ids: users,
				requester: settings.requester,
				// A user who never reached Amplitude (no consent, filtered) must not fail the job.
				ignore_invalid_ids: true,
				...(settings.deleteFromOrg && { delete_from_org: true }),
			}),
		);
	},
};

async function sendPart(
	records: WireObject[],
	ctx: SendContext<AmplitudeSettings>,
): Promise<Verdict[]> {
	const body: WireObject = {
		api_key: ctx.secret(ctx.settings.apiKey),
		events: records,
	};
	if (ctx.settings.minIdLength !== undefined)
		body.options = { min_id_length: ctx.settings.minIdLength };
	const answer = await call(ctx, joinUrl(ctx.settings.endpoint, "/2/httpapi"), {
		method: "POST",
		headers: { "content-type": "application/json", accept: "*/*" },
		body: JSON.stringify(body),
	});
	const verdict = verdictOf(answer, ctx.now());
	if (!mayNameRecords(verdict, answer)) return repeat(verdict, records.length);
	const rejected = rejectedEvents(answer.body, records.length);
	if (rejected.size === 0 || rejected.size === records.length)
		return repeat(verdict, records.length);
	const verdicts: Verdict[] = new Array(records.length);
	const rest: number[] = [];
	records.forEach((_, index) => {
		const reason = rejected.get(index);
		if (reason)
			verdicts[index] = {
				outcome: "fatal",
				status: 400,
				error: `Amplitude rejected the event: ${reason}`,
				responseBody: answer.body,
			};
		else rest.push(index);
	});
	// The rest were not ingested (Amplitude takes a request whole or not at all): send them again.
	const resent = await sendPart(
		rest.map((i) => records[i] as WireObject),
		ctx,
	);
	rest.forEach((index, n) => {
		verdicts[index] = resent[n] as Verdict;
	});
	return verdicts;
}

/** Index → reason for every event Amplitude's 400 body names. */
function rejectedEvents(body: string, count: number): Map<number, string> {
	const rejected = new Map<number, string>();
	let parsed: RejectionBody;
	try {
		parsed = JSON.parse(body) as RejectionBody;
	} catch {
		// Not Amplitude's JSON: nothing is named, so the request fails as a whole.
		return rejected;
	}
	const add = (indices: unknown, reason: string) => {
		if (!Array.isArray(indices)) return;
		for (const index of indices)
			if (
				Number.isInteger(index) &&
				index >= 0 &&
				index < count &&
				!rejected.has(index)
			)
				rejected.set(index, reason);
	};
	for (const [field, indices] of Object.entries(
		parsed.events_with_invalid_fields ?? {},
	))
		add(indices, `invalid ${field}`);
	for (const [field, indices] of Object.entries(
		parsed.events_with_missing_fields ?? {},
	))
		add(indices, `missing ${field}`);
	for (const [field, indices] of Object.entries(
		parsed.events_with_invalid_id_lengths ?? {},
	))
		add(indices, `${field} too short`);
	add(parsed.silenced_events, "device silenced");
	return rejected;
}

async function toAmplitude({
	sourceId,
	event,
}: DeliveryItem): Promise<WireObject> {
	const record: WireObject = {
		time: Date.parse(event.timestamp),
		insert_id: await insertId(sourceId, event.messageId),
		library: "conduit",
	};
	if (event.userId) record.user_id = event.userId;
	if (event.anonymousId) record.device_id = event.anonymousId;
	if (typeof event.context.ip === "string") record.ip = event.context.ip;
	const page = (event.context.page ?? {}) as WireObject;
	switch (event.type) {
		case "identify":
			record.event_type = "$identify";
			record.user_properties = { $set: { ...(event.traits ?? {}) } };
			break;
		case "page":
			record.event_type = "[Amplitude] Page Viewed";
			record.event_properties = {
				...(event.properties ?? {}),
				"[Amplitude] Page Title": page.title ?? event.name,
				"[Amplitude] Page URL": page.url,
				"[Amplitude] Page Path": page.path,
			};
			break;
		case "screen":
			record.event_type = "[Amplitude] Screen Viewed";
			record.event_properties = {
				...(event.properties ?? {}),
				"[Amplitude] Screen Name": event.name,
			};
			break;
		default:
			record.event_type = event.event;
			record.event_properties = { ...(event.properties ?? {}) };
	}
	return record;
}
