import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of an `amplitude` destination (HTTP V2 API), and optionally the User Privacy API
 * for profile deletions.
 *
 * @example
 * { "apiKey": { "secret": "AMPLITUDE_API_KEY" }, "endpoint": "https://api.eu.amplitude.com",
 *   "deletion": { "secretKey": { "secret": "AMPLITUDE_SECRET_KEY" },
 *                 "endpoint": "https://analytics.eu.amplitude.com" } }
 */
export const AmplitudeSettingsSchema = v.strictObject({
	apiKey: SecretRefSchema,
	/** https://api.eu.amplitude.com for EU residency. */
	endpoint: v.optional(HttpUrlSchema, "https://api2.amplitude.com"),
	/** Amplitude refuses user_id/device_id shorter than 5 characters unless told otherwise. */
	minIdLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
	/** Forward profile deletions to the User Privacy API (Basic auth: API key and secret key). */
	deletion: v.optional(
		v.strictObject({
			secretKey: SecretRefSchema,
			/** https://analytics.eu.amplitude.com for EU residency. */
			endpoint: v.optional(HttpUrlSchema, "https://amplitude.com"),
			/** Who asked, as Amplitude shows it in the deletion job and its email to admins. */
			requester: v.optional(
				v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200)),
				"Conduit profile deletion",
			),
			/** Delete the users from every project of the organisation (Portfolio plans only). */
			deleteFromOrg: v.optional(v.boolean(), false),
		}),
	),
});
export type AmplitudeSettings = v.InferOutput<typeof AmplitudeSettingsSchema>;
