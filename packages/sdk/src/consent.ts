import type { Preferences } from "./types";

/**
 * The track event every consent change sends (Segment's consent management spec).
 *
 * @example
 * record("track", { event: CONSENT_EVENT, properties: {} }, true);
 */
export const CONSENT_EVENT = "Segment Consent Preference Updated";

/**
 * The preferences in force: the mode's defaults (`necessary` always granted; every other
 * category granted in opt-out mode, denied in opt-in mode), then Global Privacy Control, which
 * denies `marketing`, then the person's explicit choices, which win over both.
 *
 * @param categories category names; `necessary` and `analytics` need not be listed
 * @example
 * preferences(["marketing"], "opt-out", true, {}) // { necessary: true, analytics: true, marketing: false }
 * preferences(["marketing"], "opt-out", true, { marketing: true }) // marketing: true
 */
export function preferences(
	categories: readonly string[],
	mode: "opt-in" | "opt-out",
	gpc: boolean,
	explicit: Preferences,
): Preferences {
	const result: Preferences = {};
	for (const name of ["necessary", "analytics", ...categories])
		result[name] = name === "necessary" || mode === "opt-out";
	if (gpc) result.marketing = false;
	return { ...result, ...explicit };
}
