import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { WebhookHeadersSchema } from "../kit/headers";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of a `webhook` destination.
 *
 * @example
 * { "url": "https://hooks.example.com/conduit",
 *   "secrets": [{ "secret": "WEBHOOK_SECRET" }],
 *   "headers": { "X-Team": "growth", "Authorization": { "secret": "HOOK_AUTH" } } }
 */
export const WebhookSettingsSchema = v.strictObject({
	url: HttpUrlSchema,
	/** Standard Webhooks `whsec_` secrets; list the new one too while rotating (each signs). */
	secrets: v.optional(v.pipe(v.array(SecretRefSchema), v.maxLength(5)), []),
	/** Extra request headers; a credential header's value may be a secret reference. */
	headers: v.optional(WebhookHeadersSchema, {}),
});
export type WebhookSettings = v.InferOutput<typeof WebhookSettingsSchema>;
