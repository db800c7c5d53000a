import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";
import { HttpUrlSchema } from "../kit/settings";

/**
 * Settings of a `segment` destination: any Segment-compatible HTTP Tracking API (Segment,
 * RudderStack, another Conduit).
 *
 * @example
 * { "writeKey": { "secret": "SEGMENT_WRITE_KEY" }, "endpoint": "https://events.eu1.segmentapis.com",
 *   "deletion": { "token": { "secret": "SEGMENT_API_TOKEN" } } }
 */
export const SegmentSettingsSchema = v.strictObject({
	writeKey: SecretRefSchema,
	endpoint: v.optional(HttpUrlSchema, "https://api.segment.io"),
	/** Forward profile deletions as Segment Public API regulations (Segment only). */
	deletion: v.optional(
		v.strictObject({
			token: SecretRefSchema,
			endpoint: v.optional(HttpUrlSchema, "https://api.segmentapis.com"),
			regulationType: v.optional(
				v.picklist([
					"SUPPRESS_WITH_DELETE",
					"DELETE_ONLY",
					"SUPPRESS_ONLY",
					"DELETE_INTERNAL",
				]),
				"SUPPRESS_WITH_DELETE",
			),
		}),
	),
});
export type SegmentSettings = v.InferOutput<typeof SegmentSettingsSchema>;
