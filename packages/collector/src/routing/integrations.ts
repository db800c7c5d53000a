import type { EnrichedEvent } from "../event";

/**
 * Whether the event's `integrations` object lets it reach a destination, with Segment's
 * semantics: a key naming the destination (its id, its type or its type's display name) wins;
 * `false` turns it off, `true` or an options object turns it on; otherwise `All` decides,
 * and `All` defaults to true.
 *
 * @example
 * integrationAllows({ All: false, Mixpanel: true }, ["mp-eu", "mixpanel", "Mixpanel"]) // true
 * integrationAllows({ webhook: false }, ["hooks", "webhook", "Webhooks"])             // false
 */
export function integrationAllows(
	integrations: EnrichedEvent["integrations"],
	names: readonly string[],
): boolean {
	if (!integrations) return true;
	for (const name of names) {
		if (!Object.hasOwn(integrations, name)) continue;
		const value = integrations[name];
		if (value === false) return false;
		if (value === true || (typeof value === "object" && value !== null))
			return true;
	}
	return integrations.All !== false;
}
