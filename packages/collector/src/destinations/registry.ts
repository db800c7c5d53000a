import { amplitude } from "./amplitude";
import { ga4 } from "./ga4";
import { mixpanel } from "./mixpanel";
import { posthog } from "./posthog";
import { r2 } from "./r2";
import { segment } from "./segment";
import type { DestinationType } from "./types";
import { webhook } from "./webhook";

/**
 * Every destination type, by the `type` the config names it with.
 *
 * @example
 * DESTINATION_TYPES.mixpanel.maxBatchEvents // 2000
 */
export const DESTINATION_TYPES = {
	webhook,
	segment,
	ga4,
	mixpanel,
	amplitude,
	posthog,
	r2,
} as const;

export type DestinationTypeName = keyof typeof DESTINATION_TYPES;

/**
 * The module for a configured destination, typed loosely: its settings were validated against
 * that module's own schema when the config was parsed.
 *
 * @example
 * const module = destinationType("mixpanel");
 */
export function destinationType(
	type: DestinationTypeName,
): DestinationType<unknown> {
	return DESTINATION_TYPES[type] as DestinationType<unknown>;
}
