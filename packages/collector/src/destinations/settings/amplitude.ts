import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "./common";

/**
 * Settings of an `amplitude` destination (HTTP V2 API).
 *
 * @example
 * { "apiKey": { "secret": "AMPLITUDE_API_KEY" }, "endpoint": "https://api.eu.amplitude.com" }
 */
export const AmplitudeSettingsSchema = v.strictObject({
	apiKey: SecretRefSchema,
	/** https://api.eu.amplitude.com for EU residency. */
	endpoint: v.optional(HttpUrlSchema, "https://api2.amplitude.com"),
	/** Amplitude refuses user_id/device_id shorter than 5 characters unless told otherwise. */
	minIdLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});
export type AmplitudeSettings = v.InferOutput<typeof AmplitudeSettingsSchema>;
