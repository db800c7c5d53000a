import * as v from "valibot";
import type { EnrichedEvent } from "../event";
import { ownValue } from "./path";

const CategorySchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/**
 * A source's consent defaults: what a category counts as when an event does not say
 * (server-side sources usually send no preferences), and which categories Global Privacy
 * Control denies.
 *
 * @example
 * { "defaults": { "analytics": true }, "gpcDenies": ["marketing"] }
 */
export const SourceConsentSchema = v.strictObject({
	defaults: v.optional(v.record(CategorySchema, v.boolean()), {}),
	/** A browser that sent `Sec-GPC: 1` has opted out of these, whatever its banner said. */
	gpcDenies: v.optional(v.array(CategorySchema), ["marketing"]),
});
export type SourceConsent = v.InferOutput<typeof SourceConsentSchema>;

/** The consent categories a destination requires: every one must be granted. */
export const RequiredConsentSchema = v.optional(v.array(CategorySchema), []);

/**
 * The first required category the event does not grant, or undefined when all are granted.
 * A category is granted when `context.consent.categoryPreferences[category]` is true, or, when
 * the event does not mention it, when the source's default says so; GPC overrides both.
 *
 * @example
 * deniedCategory(["marketing"], { context: { gpc: true, consent: { categoryPreferences: { marketing: true } } } }, source)
 * // "marketing"
 */
export function deniedCategory(
	required: readonly string[],
	event: EnrichedEvent,
	consent: SourceConsent,
): string | undefined {
	if (required.length === 0) return undefined;
	const preferences = categoryPreferences(event);
	const gpc = event.context.gpc === true;
	return required.find((category) => {
		if (gpc && consent.gpcDenies.includes(category)) return true;
		const stated = ownValue(preferences, category);
		const granted =
			typeof stated === "boolean"
				? stated
				: ownValue(consent.defaults, category);
		return granted !== true;
	});
}

function categoryPreferences(event: EnrichedEvent): Record<string, unknown> {
	const consent = event.context.consent;
	if (typeof consent !== "object" || consent === null) return {};
	const preferences = (consent as { categoryPreferences?: unknown })
		.categoryPreferences;
	return typeof preferences === "object" && preferences !== null
		? (preferences as Record<string, unknown>)
		: {};
}
