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
import type { MixpanelSettings } from "./settings";

/** /import limits (Mixpanel's Import Events reference): 2,000 events and 10 MB a request. */
const MAX_EVENTS = 2000;
const MAX_BYTES = 10 * 1024 * 1024;
/**
 * Deletions go by distinct_id, which is the userId, else the anonymousId: either may hold the
 * profile's data. The GDPR API takes up to 2,000 a request.
 */
const DELETE_BY: DeleteBy = {
	types: ["user_id", "anonymous_id"],
	perRequest: 2000,
	none: "the profile had no userId or anonymousId to delete by",
};

interface Indexed<T> {
	index: number;
	record: T;
}

/** Mixpanel's strict-mode 400 body: the records it refused, the rest were imported. */
interface ImportAnswer {
	failed_records?: {
		index: number;
		insert_id?: string;
		field?: string;
		message?: string;
	}[];
}

/**
 * `mixpanel`: track, page and screen go to `POST /import?strict=1` with `$insert_id` (from the
 * messageId), `distinct_id` (userId, else anonymousId), `$device_id`/`$user_id` for Simplified ID
 * Merge and `time` in milliseconds; identify becomes a `$set` on `POST /engage`. With strict=1 a
 * 400 lists `failed_records`: those events are dead-lettered, the others count as delivered.
 * With `deletion` settings, a deleted profile's userIds and anonymousIds (every distinct_id it
 * can have sent) go to the GDPR API, `POST {deletion.endpoint}/api/app/data-deletions/v3.0/`.
 *
 * @example
 * registry.mixpanel.send(items, ctx)
 */
export const mixpanel: DestinationType<MixpanelSettings> = {
	type: "mixpanel",
	displayName: "Mixpanel",
	maxBatchEvents: MAX_BATCH_EVENTS.mixpanel,
	ordering: "profile",
	async send(items, ctx) {
		const verdicts: Verdict[] = new Array(items.length);
		const imports: Indexed<WireObject>[] = [];
		const people: Indexed<WireObject>[] = [];
		for (const [index, item] of items.entries()) {
			const { event } = item;
			if (event.type === "identify")
				people.push({ index, record: profileSet(item, ctx.settings) });
			else if (event.type === "group" || event.type === "alias")
				verdicts[index] = {
					outcome: "dropped",
					error:
						event.type === "alias"
							? "Mixpanel's Simplified ID Merge links ids from $device_id and $user_id; alias is not needed"
							: "group profiles need Mixpanel group analytics, which this destination does not set up",
				};
			else imports.push({ index, record: await importRecord(item) });
		}
		await Promise.all([
			place(verdicts, imports, (records) => sendImports(records, ctx)),
			place(verdicts, people, (records) => sendPeople(records, ctx)),
		]);
		return verdicts;
	},
	supportsDeletion: (settings) => settings.deletion !== undefined,
	async deleteProfile(deletion, ctx) {
		const settings = ctx.settings.deletion;
		if (!settings)
			return { outcome: "dropped", error: "no 'deletion' settings" };
		const url = `${joinUrl(settings.endpoint, "/api/app/data-deletions/v3.0/")}?token=${encodeURIComponent(ctx.settings.projectToken)}`;
		const authorization = `Bearer ${ctx.secret(settings.token)}`;
		return deleteByIds(deletion, DELETE_BY, (part) =>
			postDeletion(ctx, url, authorization, {
				distinct_ids: part,
				compliance_type: settings.complianceType,
			}),
		);
	},
};

async function place(
	verdicts: Verdict[],
	indexed: Indexed<WireObject>[],
	send: (records: WireObject[]) => Promise<Verdict[]>,
): Promise<void> {
	if (indexed.length === 0) return;
	const results = await send(indexed.map((i) => i.record));
	indexed.forEach((i, n) => {
		verdicts[i.index] = results[n] as Verdict;
	});
}

async function importRecord({
	sourceId,
	event,
}: DeliveryItem): Promise<WireObject> {
	const properties: WireObject = { ...(event.properties ?? {}) };
	const page = (event.context.page ?? {}) as WireObject;
	let name = event.event ?? "";
	if (event.type === "page") {
		name = "$mp_web_page_view";
		if (event.name) properties.page_name = event.name;
		if (typeof page.url === "string") properties.$current_url = page.url;
		if (typeof page.title === "string")
			properties.current_page_title = page.title;
	} else if (event.type === "screen") {
		name = "$screen";
		if (event.name) properties.$screen_name = event.name;
	}
	properties.time = Date.parse(event.timestamp);
	properties.distinct_id = event.userId ?? event.anonymousId ?? "";
	properties.$insert_id = await insertId(sourceId, event.messageId);
	if (event.anonymousId) properties.$device_id = event.anonymousId;
	if (event.userId) properties.$user_id = event.userId;
	if (typeof event.context.ip === "string") properties.ip = event.context.ip;
	return { event: name, properties };
}

function profileSet(
	{ event }: DeliveryItem,
	settings: MixpanelSettings,
): WireObject {
	return {
		$token: settings.projectToken,
		$distinct_id: event.userId ?? event.anonymousId ?? "",
		$set: { ...(event.traits ?? {}) },
		// $ip 0: do not geolocate the profile from our Worker's address.
		$ip: typeof event.context.ip === "string" ? event.context.ip : "0",
	};
}

/** Both endpoints take at most 2,000 records and 10 MB (each record plus a comma). */
const REQUEST_LIMITS = {
	maxItems: MAX_EVENTS,
	maxBytes: MAX_BYTES,
	sizeOf: (r: WireObject) => jsonBytes(r) + 1,
};

async function sendImports(
	records: WireObject[],
	ctx: SendContext<MixpanelSettings>,
): Promise<Verdict[]> {
	const { settings } = ctx;
	const secret = ctx.secret(settings.credentials.secret);
	const authorization = settings.credentials.username
		? basicAuth(settings.credentials.username, secret)
		: basicAuth(secret, "");
	const query = new URLSearchParams({ strict: "1" });
	if (settings.projectId) query.set("project_id", settings.projectId);
	const url = joinUrl(settings.endpoint, `/import?${query}`);
	const parts = chunk(records, REQUEST_LIMITS);
	return sendChunked(parts, async (part) => {
		const answer = await call(ctx, url, {
			method: "POST",
			headers: { authorization, "content-type": "application/json" },
			body: JSON.stringify(part),
		});
		const verdict = verdictOf(answer, ctx.now());
		if (!mayNameRecords(verdict, answer)) return repeat(verdict, part.length);
		const failed = failedRecords(answer.body);
		if (!failed) return repeat(verdict, part.length);
		const verdicts: Verdict[] = repeat(
			{ outcome: "ok", status: 200 },
			part.length,
		);
		for (const record of failed) {
			if (record.index < 0 || record.index >= part.length) continue;
			verdicts[record.index] = {
				outcome: "fatal",
				status: 400,
				error: `Mixpanel refused ${record.field ?? "the event"}: ${record.message ?? "invalid"}`,
				responseBody: JSON.stringify(record),
			};
		}
		return verdicts;
	});
}

function failedRecords(
	body: string,
): NonNullable<ImportAnswer["failed_records"]> | undefined {
	try {
		const parsed = JSON.parse(body) as ImportAnswer;
		return Array.isArray(parsed.failed_records)
			? parsed.failed_records
			: undefined;
	} catch {
		// Not Mixpanel's JSON (a proxy's error page): the whole request failed.
		return undefined;
	}
}

async function sendPeople(
	records: WireObject[],
	ctx: SendContext<MixpanelSettings>,
): Promise<Verdict[]> {
	const url = joinUrl(ctx.settings.endpoint, "/engage?verbose=1");
	const parts = chunk(records, REQUEST_LIMITS);
	return sendChunked(parts, async (part) => {
		const answer = await call(ctx, url, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify(part),
		});
		const verdict = verdictOf(answer, ctx.now());
		// With verbose=1 Mixpanel answers 200 {"status":0,"error":"…"} when it refuses the update.
		if (verdict.outcome === "ok" && !("error" in answer)) {
			const refusal = engageRefusal(answer.body);
			if (refusal)
				return repeat(
					{
						outcome: "fatal",
						status: answer.status,
						error: `Mixpanel /engage: ${refusal}`,
						responseBody: answer.body,
					},
					part.length,
				);
		}
		return repeat(verdict, part.length);
	});
}

function engageRefusal(body: string): string | undefined {
	try {
		const parsed = JSON.parse(body) as { status?: unknown; error?: unknown };
		return parsed.status === 0 ? String(parsed.error ?? "refused") : undefined;
	} catch {
		// A non-JSON 200 is not Mixpanel's verbose answer; trust the status code.
		return undefined;
	}
}
