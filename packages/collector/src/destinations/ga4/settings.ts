import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of a `ga4` destination (Measurement Protocol, web stream).
 *
 * @example
 * { "measurementId": "G-ABC123XYZ", "apiSecret": { "secret": "GA4_API_SECRET" },
 *   "endpoint": "https://region1.google-analytics.com" }
 */
export const Ga4SettingsSchema = v.strictObject({
	measurementId: v.pipe(
		v.string(),
		v.regex(
			/^G-[A-Z0-9]{4,20}$/,
			"must be a GA4 measurement id such as G-ABC123XYZ",
		),
	),
	apiSecret: SecretRefSchema,
	/** https://region1.google-analytics.com collects in the EU. */
	endpoint: v.optional(HttpUrlSchema, "https://www.google-analytics.com"),
});
export type Ga4Settings = v.InferOutput<typeof Ga4SettingsSchema>;
