import { CONSENT_EVENT } from "./consent";
import type { Core } from "./core";
import { allowed, CONSENT_KEY, loadState } from "./state";
import type { Tracker } from "./tracker";
import type { Preferences } from "./types";

/**
 * `consent.set()`: merges the person's choices into earlier ones and applies what changed.
 * Granting analytics starts storing (IDs, queue) and releases the held events, stamped with the
 * new preferences; withdrawing it erases the IDs and purges every stored and waiting event.
 * Either way a consent event is sent (the collector needs it, whatever was chosen) and the
 * page's listeners hear of it.
 *
 * @example
 * const set = consentSetter(core, tracker);
 * set({ analytics: true, marketing: false });
 */
export function consentSetter(
	{ _rt: rt, _s: s, _rules: rules, _queue: queue, _r: r, _save: save }: Core,
	tracker: Tracker,
): (choices: Preferences) => void {
	return (choices) => {
		const was = allowed(s);
		for (const name in choices)
			if (typeof choices[name] === "boolean") s._chosen[name] = choices[name];
		// Without a runtime, loadState only works out the preferences in force.
		loadState(s, undefined, rules);
		const now = allowed(s);
		// Opt-in: a refusal is not stored (nothing may be); opt-out: the withdrawal must outlive the visit.
		rt._put(
			CONSENT_KEY,
			now || rules._mode === "opt-out" ? JSON.stringify(s._chosen) : null,
		);
		if (was && !now) {
			queue._persist(false);
			queue._del(queue._mem());
			save(null);
		}
		if (now && !was) {
			queue._persist(true);
			save(s);
		}
		const held = s._held.splice(0);
		if (now)
			for (const event of held) {
				event.context.consent.categoryPreferences = s._prefs;
				tracker._add(event);
			}
		tracker._record("track", { event: CONSENT_EVENT, properties: {} }, true);
		for (const listener of s._listeners) r._safe(listener)({ ...s._prefs });
	};
}
