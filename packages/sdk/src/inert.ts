import type { Instance } from "./call";
import type { Preferences, User } from "./types";

/**
 * The SDK outside a browser (server-side rendering): every method answers and nothing is
 * recorded or sent, so shared code can call it unguarded. Kept apart so the script-tag build,
 * which only ever runs in a browser, leaves it out.
 *
 * @example
 * const analytics = inert(() => user, () => ({ necessary: true, analytics: true }));
 * analytics.track("Rendered on the server"); // nothing happens
 */
export function inert(
	user: () => User,
	preferences: () => Preferences,
): Instance {
	const none = () => {};
	return {
		page: none,
		track: none,
		identify: none,
		group: none,
		alias: none,
		reset: none,
		flush: () => Promise.resolve(true),
		user,
		consent: { set: none, get: preferences, onChange: () => none },
		ready: none,
		use: none,
		_call: none,
	};
}
