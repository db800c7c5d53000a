import { call, repeat, verdictOf } from "../kit/http";
import { batchKey } from "../kit/idempotency";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import type {
	DeliveryItem,
	DestinationType,
	ProfileDeletion,
	SendContext,
	Verdict,
} from "../types";
import type { WebhookSettings } from "./settings";
import { signWebhook } from "./signature";

/** Standard Webhooks: 410 Gone means "stop sending here"; the destination is disabled. */
const GONE = 410;

async function post(
	ctx: SendContext<WebhookSettings>,
	id: string,
	payload: unknown,
): Promise<Verdict> {
	const { settings } = ctx;
	const body = JSON.stringify(payload);
	const timestamp = Math.floor(ctx.now() / 1000);
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(settings.headers))
		headers[name] = typeof value === "string" ? value : ctx.secret(value);
	headers["content-type"] = "application/json";
	headers["webhook-id"] = id;
	headers["webhook-timestamp"] = String(timestamp);
	if (settings.secrets.length > 0)
		headers["webhook-signature"] = await signWebhook(
			settings.secrets.map((ref) => ctx.secret(ref)),
			id,
			timestamp,
			body,
		);
	const answer = await call(ctx, settings.url, {
		method: "POST",
		headers,
		body,
	});
	const verdict = verdictOf(answer, ctx.now());
	if (verdict.outcome === "fatal" && verdict.status === GONE)
		return {
			...verdict,
			disable: true,
			error: `410 Gone: the receiver asked to stop; destination '${ctx.destinationId}' is disabled until a replay to it`,
		};
	return verdict;
}

/**
 * `webhook`: POSTs each batch as one signed JSON message,
 * `{ "type": "events.batch", "timestamp", "data": { "events": [...] } }` (the Standard Webhooks
 * payload shape). `webhook-id` is derived from the batch's messageIds, so a retried batch keeps
 * its id and the receiver can deduplicate on it. Deletions arrive as `profile.deleted`.
 *
 * @example
 * registry.webhook.send(items, ctx)
 */
export const webhook: DestinationType<WebhookSettings> = {
	type: "webhook",
	displayName: "Webhooks",
	maxBatchEvents: MAX_BATCH_EVENTS.webhook,
	ordering: "profile",
	async send(items: DeliveryItem[], ctx) {
		const id = await batchKey(
			"msg_",
			items.map((item) => [item.sourceId, item.event.messageId] as const),
		);
		const payload = {
			type: "events.batch",
			timestamp: new Date(ctx.now()).toISOString(),
			data: { events: items.map((item) => item.event) },
		};
		return repeat(await post(ctx, id, payload), items.length);
	},
	supportsDeletion: () => true,
	async deleteProfile(deletion: ProfileDeletion, ctx) {
		return post(ctx, `msg_deletion_${deletion.id}`, {
			type: "profile.deleted",
			timestamp: new Date(ctx.now()).toISOString(),
			data: {
				profileId: deletion.profileId,
				identities: deletion.identities,
				requestedAt: deletion.requestedAt,
			},
		});
	},
};
