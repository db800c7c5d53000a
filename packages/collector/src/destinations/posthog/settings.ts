import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of a `posthog` destination. The project API key (`phc_…`) is write-only and public
 * by design (browsers send it), so it is plain config. `deletion` forwards profile deletions
 * through the private API, which takes a personal API key.
 *
 * @example
 * { "apiKey": "phc_abc123", "endpoint": "https://eu.i.posthog.com",
 *   "deletion": { "personalApiKey": { "secret": "POSTHOG_PERSONAL_API_KEY" }, "projectId": "12345",
 *                 "endpoint": "https://eu.posthog.com" } }
 */
export const PosthogSettingsSchema = v.strictObject({
	apiKey: v.pipe(v.string(), v.minLength(1)),
	/** https://eu.i.posthog.com for PostHog EU Cloud, or a self-hosted instance. */
	endpoint: v.optional(HttpUrlSchema, "https://us.i.posthog.com"),
	deletion: v.optional(
		v.strictObject({
			/** A personal API key (`phx_…`) with the person:write scope. */
			personalApiKey: SecretRefSchema,
			projectId: v.pipe(v.string(), v.regex(/^\d+$/, "must be digits")),
			/** The private API host, not the capture host: https://eu.posthog.com for EU Cloud. */
			endpoint: v.optional(HttpUrlSchema, "https://us.posthog.com"),
			/** Also delete the persons' events and session recordings (PostHog queues both). */
			deleteEvents: v.optional(v.boolean(), true),
			deleteRecordings: v.optional(v.boolean(), true),
		}),
	),
});
export type PosthogSettings = v.InferOutput<typeof PosthogSettingsSchema>;
