import * as v from "valibot";
import { HttpUrlSchema } from "./common";

/**
 * Settings of a `posthog` destination. The project API key (`phc_…`) is write-only and public
 * by design (browsers send it), so it is plain config.
 *
 * @example
 * { "apiKey": "phc_abc123", "endpoint": "https://eu.i.posthog.com" }
 */
export const PosthogSettingsSchema = v.strictObject({
	apiKey: v.pipe(v.string(), v.minLength(1)),
	/** https://eu.i.posthog.com for PostHog EU Cloud, or a self-hosted instance. */
	endpoint: v.optional(HttpUrlSchema, "https://us.i.posthog.com"),
});
export type PosthogSettings = v.InferOutput<typeof PosthogSettingsSchema>;
