import * as v from "valibot";
import { AmplitudeSettingsSchema } from "../destinations/amplitude/settings";
import { Ga4SettingsSchema } from "../destinations/ga4/settings";
import { MixpanelSettingsSchema } from "../destinations/mixpanel/settings";
import { PosthogSettingsSchema } from "../destinations/posthog/settings";
import { R2SettingsSchema } from "../destinations/r2/settings";
import { SegmentSettingsSchema } from "../destinations/segment/settings";
import { WebhookSettingsSchema } from "../destinations/webhook/settings";
import { LIMITS } from "../limits";
import { RequiredConsentSchema } from "../routing/consent";
import { FiltersSchema } from "../routing/filters";
import { MappingSchema } from "../routing/mapping";
import { ConfigIdSchema } from "./id";

/** Most attempts a destination may ask for; wrangler.toml's DELIVERIES max_retries stays above it. */
export const MAX_ATTEMPTS_LIMIT = 50;

const RetrySchema = v.optional(
	v.strictObject({
		maxAttempts: v.optional(
			v.pipe(
				v.number(),
				v.integer(),
				v.minValue(1),
				v.maxValue(MAX_ATTEMPTS_LIMIT),
			),
			8,
		),
		baseDelaySeconds: v.optional(
			v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)),
			10,
		),
		maxDelaySeconds: v.optional(
			v.pipe(
				v.number(),
				v.integer(),
				v.minValue(1),
				v.maxValue(LIMITS.maxQueueDelaySeconds),
			),
			3600,
		),
	}),
	{},
);

const common = {
	id: ConfigIdSchema,
	name: v.optional(v.string()),
	enabled: v.optional(v.boolean(), true),
	/** Consent categories the person must have granted, every one (see routing/consent.ts). */
	consent: RequiredConsentSchema,
	filters: v.optional(FiltersSchema),
	mapping: v.optional(MappingSchema),
	/** Events per request; at most the type's own limit (and, in practice, one queue batch). */
	batchSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
	retry: RetrySchema,
	/** "profile": a person's events reach the destination in timestamp order (see delivery/hold.ts). */
	ordering: v.optional(v.picklist(["profile", "none"])),
	/** How long one request may take before it counts as a network error. */
	timeoutMs: v.optional(
		v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(60_000)),
		10_000,
	),
};

/**
 * A destination: where events go, which ones, and how. `settings` is checked against the
 * type's own schema.
 *
 * @example
 * { "id": "product-analytics", "type": "mixpanel", "consent": ["analytics"],
 *   "filters": { "types": { "exclude": ["page"] } },
 *   "settings": { "projectToken": "…", "credentials": { "secret": { "secret": "MIXPANEL_SECRET" } } } }
 */
export const DestinationSchema = v.variant(
	"type",
	[
		v.strictObject({
			...common,
			type: v.literal("webhook"),
			settings: WebhookSettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("segment"),
			settings: SegmentSettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("ga4"),
			settings: Ga4SettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("mixpanel"),
			settings: MixpanelSettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("amplitude"),
			settings: AmplitudeSettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("posthog"),
			settings: PosthogSettingsSchema,
		}),
		v.strictObject({
			...common,
			type: v.literal("r2"),
			settings: v.optional(R2SettingsSchema, {}),
		}),
	],
	"must be one of webhook, segment, ga4, mixpanel, amplitude, posthog, r2",
);
export type Destination = v.InferOutput<typeof DestinationSchema>;
