import type { Destination } from "../config/destinations";
import type { Source } from "../config/schema";
import { DESTINATION_TYPES } from "../destinations/registry";
import type { EnrichedEvent } from "../event";
import { deniedCategory, type SourceConsent } from "./consent";
import { filterVerdict } from "./filters";
import { integrationAllows } from "./integrations";

/** Consent rules for events whose source is no longer configured: nothing is granted by default. */
const NO_DEFAULTS: SourceConsent = { defaults: {}, gpcDenies: ["marketing"] };

/**
 * Why an event does not go to a destination, or undefined when it does. The checks, in order:
 * the destination is enabled, the event's `integrations` object allows it, its filters pass, and
 * the person granted every consent category it requires.
 *
 * @example
 * routeVerdict(destination, "web", event, source) // undefined, or e.g. "consent 'marketing' not granted"
 */
export function routeVerdict(
	destination: Destination,
	sourceId: string,
	event: EnrichedEvent,
	source: Source | undefined,
): string | undefined {
	if (!destination.enabled) return "destination disabled";
	const names = [
		destination.id,
		destination.type,
		DESTINATION_TYPES[destination.type].displayName,
	];
	if (!integrationAllows(event.integrations, names))
		return "turned off by the event's integrations";
	const filtered = filterVerdict(destination.filters, sourceId, event);
	if (filtered) return filtered;
	const denied = deniedCategory(
		destination.consent,
		event,
		source?.consent ?? NO_DEFAULTS,
	);
	return denied ? `consent '${denied}' not granted` : undefined;
}

/**
 * The key a destination's per-profile ordering groups events by: the resolved profile when the
 * identity stage set one, else the userId, else the anonymousId.
 *
 * @example
 * profileKeyOf({ context: { profileId: "p_1" }, userId: "u1", … }) // "p_1"
 */
export function profileKeyOf(event: EnrichedEvent): string | null {
	const profileId = event.context.profileId;
	if (typeof profileId === "string" && profileId !== "") return profileId;
	return event.userId ?? event.anonymousId ?? null;
}
