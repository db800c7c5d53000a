import { chunk, jsonBytes } from "../kit/chunk";
import { call, repeat, sendChunked, verdictOf } from "../kit/http";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import { joinUrl } from "../kit/settings";
import type { DestinationType, Verdict } from "../types";
import { GA4_LIMITS, type Ga4Event, toGa4Event } from "./events";
import type { Ga4Settings } from "./settings";

interface Prepared {
	index: number;
	clientId: string;
	userId?: string;
	event: Ga4Event & { timestamp_micros: number };
	consent?: { ad_user_data: string; ad_personalization: string };
}

/**
 * `ga4`: `POST {endpoint}/mp/collect?measurement_id=…&api_secret=…`, one request per
 * (client_id, user_id) and at most 25 events; `client_id` is the anonymousId (the userId when
 * there is none). Segment e-commerce events become GA4 recommended events (events.ts);
 * events that break GA4's limits are dropped with the reason. The Measurement Protocol has no
 * idempotency key: a retried request can count twice in GA4 (purchase is deduplicated by GA4
 * on `transaction_id`).
 *
 * @example
 * registry.ga4.send(items, ctx)
 */
export const ga4: DestinationType<Ga4Settings> = {
	type: "ga4",
	displayName: "Google Analytics 4",
	maxBatchEvents: MAX_BATCH_EVENTS.ga4,
	ordering: "none",
	async send(items, ctx) {
		const verdicts: Verdict[] = new Array(items.length);
		const groups = new Map<string, Prepared[]>();
		items.forEach(({ event }, index) => {
			const clientId = event.anonymousId ?? event.userId;
			const translated = toGa4Event(event, ctx.now());
			if ("dropped" in translated) {
				verdicts[index] = { outcome: "dropped", error: translated.dropped };
				return;
			}
			if (!clientId) {
				verdicts[index] = {
					outcome: "dropped",
					error: "no anonymousId or userId for client_id",
				};
				return;
			}
			const prepared: Prepared = {
				index,
				clientId,
				event: {
					...translated,
					timestamp_micros: Date.parse(event.timestamp) * 1000,
				},
			};
			if (event.userId) prepared.userId = event.userId;
			const consent = adConsent(event.context);
			if (consent) prepared.consent = consent;
			const key = JSON.stringify([
				clientId,
				event.userId ?? null,
				consent ?? null,
			]);
			groups.set(key, [...(groups.get(key) ?? []), prepared]);
		});
		const query = new URLSearchParams({
			measurement_id: ctx.settings.measurementId,
			api_secret: ctx.secret(ctx.settings.apiSecret),
		});
		const url = joinUrl(ctx.settings.endpoint, `/mp/collect?${query}`);
		for (const group of groups.values()) {
			const parts = chunk(group, {
				maxItems: GA4_LIMITS.eventsPerRequest,
				maxBytes: GA4_LIMITS.requestBytes - 1024,
				sizeOf: (p) => jsonBytes(p.event) + 1,
			});
			const results = await sendChunked(parts, async (part) => {
				const first = part[0] as Prepared;
				const body: Record<string, unknown> = {
					client_id: first.clientId,
					events: part.map((p) => p.event),
				};
				if (first.userId) body.user_id = first.userId;
				if (first.consent) body.consent = first.consent;
				const answer = await call(ctx, url, {
					method: "POST",
					headers: { "content-type": "application/json" },
					body: JSON.stringify(body),
				});
				return repeat(verdictOf(answer, ctx.now()), part.length);
			});
			group.forEach((p, i) => {
				verdicts[p.index] = results[i] as Verdict;
			});
		}
		return verdicts;
	},
};

/** GA4's consent signals from the event's marketing consent and GPC, when it says anything. */
function adConsent(
	context: Record<string, unknown>,
): Prepared["consent"] | undefined {
	const consent = context.consent as
		| { categoryPreferences?: Record<string, unknown> }
		| undefined;
	const marketing = consent?.categoryPreferences?.marketing;
	if (context.gpc !== true && typeof marketing !== "boolean") return undefined;
	const granted =
		context.gpc !== true && marketing === true ? "GRANTED" : "DENIED";
	return { ad_user_data: granted, ad_personalization: granted };
}
