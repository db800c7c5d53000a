import type { WireObject } from "@conduit/protocol";
import { chunk, jsonBytes } from "../kit/chunk";
import { type DeleteBy, deleteByIds, postDeletion } from "../kit/deletion";
import { call, repeat, sendChunked, verdictOf } from "../kit/http";
import { uuidFor } from "../kit/idempotency";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import { joinUrl } from "../kit/settings";
import type { DeliveryItem, DestinationType } from "../types";
import type { PosthogSettings } from "./settings";

/** PostHog's capture endpoints take request bodies up to 20 MB. */
const MAX_BYTES = 20 * 1024 * 1024 - 1024;
/**
 * Deletions go by distinct_id, which is the userId, else the anonymousId: either may name the
 * person. The persons bulk-delete endpoint takes up to 1,000 a request.
 */
const DELETE_BY: DeleteBy = {
	types: ["user_id", "anonymous_id"],
	perRequest: 1000,
	none: "the profile had no userId or anonymousId to delete by",
};

/**
 * `posthog`: `POST {endpoint}/batch/` with `api_key` and a `uuid` per event (from the
 * messageId; PostHog deduplicates on it). identify → `$identify` with `$set` and
 * `$anon_distinct_id`; page → `$pageview`; screen → `$screen`; group → `$groupidentify`;
 * alias → `$create_alias`. With `deletion` settings, a deleted profile's userIds and
 * anonymousIds go to `POST {deletion.endpoint}/api/projects/{projectId}/persons/bulk_delete/`.
 *
 * @example
 * registry.posthog.send(items, ctx)
 */
export const posthog: DestinationType<PosthogSettings> = {
	type: "posthog",
	displayName: "PostHog",
	maxBatchEvents: MAX_BATCH_EVENTS.posthog,
	ordering: "profile",
	async send(items, ctx) {
		const records = await Promise.all(items.map(toPosthog));
		const parts = chunk(records, {
			maxItems: 1000,
			maxBytes: MAX_BYTES,
			sizeOf: (r) => jsonBytes(r) + 1,
		});
		const url = joinUrl(ctx.settings.endpoint, "/batch/");
		return sendChunked(parts, async (part) => {
			const answer = await call(ctx, url, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({
					api_key: ctx.settings.apiKey,
					historical_migration: false,
					batch: part,
				}),
			});
			return repeat(verdictOf(answer, ctx.now()), part.length);
		});
	},
	supportsDeletion: (settings) => settings.deletion !== undefined,
	async deleteProfile(deletion, ctx) {
		const settings = ctx.settings.deletion;
		if (!settings)
			return { outcome: "dropped", error: "no 'deletion' settings" };
		const url = joinUrl(
			settings.endpoint,
			`/api/projects/${settings.projectId}/persons/bulk_delete/`,
		);
		const authorization = `Bearer ${ctx.secret(settings.personalApiKey)}`;
		return deleteByIds(deletion, DELETE_BY, (part) =>
			postDeletion(ctx, url, authorization, {
				distinct_ids: part,
				delete_events: settings.deleteEvents,
				delete_recordings: settings.deleteRecordings,
			}),
		);
	},
};

async function toPosthog({
	sourceId,
	event,
}: DeliveryItem): Promise<WireObject> {
	const distinctId = event.userId ?? event.anonymousId ?? "";
	const page = (event.context.page ?? {}) as WireObject;
	const properties: WireObject = { $lib: "conduit" };
	if (typeof event.context.ip === "string") properties.$ip = event.context.ip;
	let name: string;
	switch (event.type) {
		case "identify":
			name = "$identify";
			properties.$set = { ...(event.traits ?? {}) };
			if (event.userId && event.anonymousId)
				properties.$anon_distinct_id = event.anonymousId;
			break;
		case "page":
			name = "$pageview";
			Object.assign(properties, event.properties);
			if (typeof page.url === "string") properties.$current_url = page.url;
			if (typeof page.title === "string") properties.title = page.title;
			break;
		case "screen":
			name = "$screen";
			Object.assign(properties, event.properties);
			properties.$screen_name = event.name;
			break;
		case "group": {
			name = "$groupidentify";
			const traits = { ...(event.traits ?? {}) };
			properties.$group_type =
				typeof traits.group_type === "string" ? traits.group_type : "company";
			properties.$group_key = event.groupId;
			delete traits.group_type;
			properties.$group_set = traits;
			break;
		}
		case "alias":
			name = "$create_alias";
			properties.alias = event.previousId;
			break;
		default:
			name = event.event ?? "";
			Object.assign(properties, event.properties);
	}
	// Set last so that no event property can override who the event belongs to.
	properties.distinct_id = distinctId;
	return {
		event: name,
		properties,
		timestamp: event.timestamp,
		uuid: await uuidFor(sourceId, event.messageId),
	};
}
