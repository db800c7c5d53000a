import { MAX_REQUEST_BYTES } from "@conduit/protocol";
import { chunk, jsonBytes } from "../kit/chunk";
import { type DeleteBy, deleteByIds, postDeletion } from "../kit/deletion";
import { basicAuth, call, repeat, sendChunked, verdictOf } from "../kit/http";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import { joinUrl } from "../kit/settings";
import type { DestinationType, SendContext } from "../types";
import type { SegmentSettings } from "./settings";

/** Regulations address users by userId; one regulation takes all of a profile's. */
const DELETE_BY: DeleteBy = {
	types: ["user_id"],
	perRequest: Number.POSITIVE_INFINITY,
	none: "the profile had no userId; Segment regulations address users by userId",
};

/**
 * `segment`: `POST {endpoint}/v1/batch` with the write key as the HTTP Basic username.
 * Events go as they are stored, `messageId` included, so the receiver deduplicates them.
 *
 * @example
 * registry.segment.send(items, ctx)
 */
export const segment: DestinationType<SegmentSettings> = {
	type: "segment",
	displayName: "Segment",
	maxBatchEvents: MAX_BATCH_EVENTS.segment,
	ordering: "profile",
	async send(items, ctx) {
		const authorization = basicAuth(ctx.secret(ctx.settings.writeKey), "");
		const url = joinUrl(ctx.settings.endpoint, "/v1/batch");
		const parts = chunk(items, {
			// Segment's HTTP Tracking API limits, which Conduit's own ingest API shares.
			maxItems: MAX_BATCH_EVENTS.segment,
			// Room for the envelope ({"batch":[…],"sentAt":"…"}).
			maxBytes: MAX_REQUEST_BYTES - 100,
			sizeOf: (item) => jsonBytes(item.event) + 1,
		});
		return sendChunked(parts, async (part) => {
			const body = JSON.stringify({
				batch: part.map((item) => item.event),
				sentAt: new Date(ctx.now()).toISOString(),
			});
			const answer = await call(ctx, url, {
				method: "POST",
				headers: { authorization, "content-type": "application/json" },
				body,
			});
			return repeat(verdictOf(answer, ctx.now()), part.length);
		});
	},
	supportsDeletion: (settings) => settings.deletion !== undefined,
	async deleteProfile(deletion, ctx: SendContext<SegmentSettings>) {
		const settings = ctx.settings.deletion;
		if (!settings)
			return { outcome: "dropped", error: "no 'deletion' settings" };
		const url = joinUrl(settings.endpoint, "/regulations");
		const authorization = `Bearer ${ctx.secret(settings.token)}`;
		return deleteByIds(deletion, DELETE_BY, (userIds) =>
			postDeletion(ctx, url, authorization, {
				regulationType: settings.regulationType,
				subjectType: "USER_ID",
				subjectIds: userIds,
			}),
		);
	},
};
