import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of a `mixpanel` destination. `credentials` authenticate /import: a service account
 * (`username` + its secret, and `projectId`), or the project's API secret alone. `deletion`
 * forwards profile deletions to the GDPR API.
 *
 * @example
 * { "projectToken": "2f3c…", "projectId": "3170000",
 *   "credentials": { "username": "conduit.1a2b3c.mp-service-account", "secret": { "secret": "MIXPANEL_SECRET" } },
 *   "endpoint": "https://api-eu.mixpanel.com",
 *   "deletion": { "token": { "secret": "MIXPANEL_GDPR_TOKEN" }, "endpoint": "https://eu.mixpanel.com" } }
 */
export const MixpanelSettingsSchema = v.pipe(
	v.strictObject({
		/** The project token: public (browsers send it); /engage profile updates carry it. */
		projectToken: v.pipe(v.string(), v.minLength(1)),
		projectId: v.optional(
			v.pipe(v.string(), v.regex(/^\d+$/, "must be digits")),
		),
		credentials: v.strictObject({
			username: v.optional(v.pipe(v.string(), v.minLength(1))),
			secret: SecretRefSchema,
		}),
		/** https://api-eu.mixpanel.com or https://api-in.mixpanel.com for other residencies. */
		endpoint: v.optional(HttpUrlSchema, "https://api.mixpanel.com"),
		/** Forward profile deletions to the GDPR API (data-deletions v3). */
		deletion: v.optional(
			v.strictObject({
				/** The GDPR OAuth token from an owner's or admin's Data & Privacy settings (valid a year). */
				token: SecretRefSchema,
				/** https://eu.mixpanel.com or https://in.mixpanel.com for other residencies. */
				endpoint: v.optional(HttpUrlSchema, "https://mixpanel.com"),
				complianceType: v.optional(v.picklist(["GDPR", "CCPA"]), "GDPR"),
			}),
		),
	}),
	v.check(
		(s) => s.credentials.username === undefined || s.projectId !== undefined,
		"a service account (credentials.username) needs 'projectId'",
	),
);
export type MixpanelSettings = v.InferOutput<typeof MixpanelSettingsSchema>;
