import type { Call } from "./call";
import { preferences } from "./consent";
import { type Identity, KEY, loadIdentity, storedJson } from "./identity";
import type { Runtime } from "./runtime";
import type {
	ConduitEvent,
	ConsentOptions,
	Middleware,
	Preferences,
	User,
} from "./types";

/**
 * localStorage key of the consent choices.
 *
 * @example
 * rt._put(CONSENT_KEY, JSON.stringify(s._chosen));
 */
export const CONSENT_KEY = `${KEY}consent`;

/** The consent options with their defaults filled in, and the browser's privacy signal. */
export interface ConsentRules {
	_mode: "opt-in" | "opt-out";
	_categories: string[];
	/** Opt-in mode: most events held in memory until the person decides. */
	_hold: number;
	/** Global Privacy Control (navigator.globalPrivacyControl). */
	_gpc: boolean;
}

/**
 * The instance's one mutable state object: who the person is, what they consented to, and
 * what the page registered. Sending has its own state (sender.ts).
 */
export interface State extends Identity {
	/** Consent choices the person made explicitly (persisted when allowed). */
	_chosen: Preferences;
	/** Preferences in force: defaults, GPC, then `_chosen`. */
	_prefs: Preferences;
	/** Opt-in mode: events made before the person decided. */
	_held: ConduitEvent[];
	_middleware: Middleware[];
	_listeners: ((preferences: Preferences) => void)[];
	/** Where and when the call being replayed from the snippet was made. */
	_at?: Call | undefined;
}

/**
 * Fills in the consent defaults (opt-out, `marketing`, 100 held); GPC is read with the state
 * (`loadState`), as a page's first touch of `navigator` costs the creation call about a
 * millisecond.
 *
 * @example
 * consentRules({ mode: "opt-in" }) // { _mode: "opt-in", _categories: ["marketing"], _hold: 100, _gpc: false }
 */
export function consentRules({
	mode = "opt-out",
	categories = ["marketing"],
	hold = 100,
}: ConsentOptions): ConsentRules {
	return {
		_mode: mode,
		_categories: categories,
		_hold: hold,
		_gpc: false,
	};
}

/**
 * A fresh state for a person seen for the first time, with anonymous ID `aid`.
 *
 * @example
 * const s = createState(id());
 * loadState(s, rt, rules);
 */
export function createState(aid: string): State {
	return {
		_aid: aid,
		_traits: {},
		_chosen: {},
		_prefs: {},
		_held: [],
		_middleware: [],
		_listeners: [],
	};
}

/**
 * Reads the consent choices and the identity from storage into `s` (at start, and again when
 * another tab changed them: `changed`, see `loadIdentity`) and the privacy signal into `rules`,
 * then works out the preferences in force.
 *
 * @example
 * on(w, "storage", (e) => e.key?.startsWith(KEY) && loadState(s, rt, rules, true));
 */
export function loadState(
	s: State,
	rt: Runtime | undefined,
	rules: ConsentRules,
	changed?: boolean,
): void {
	if (rt) {
		// Global Privacy Control is not in TypeScript's DOM types yet.
		rules._gpc = !!(rt._w.navigator as { globalPrivacyControl?: boolean })
			.globalPrivacyControl;
		s._chosen = storedJson(rt, CONSENT_KEY) as Preferences;
		Object.assign(
			s,
			loadIdentity(rt, () => s._aid, changed),
		);
	}
	s._prefs = preferences(rules._categories, rules._mode, rules._gpc, s._chosen);
}

/**
 * Whether analytics is allowed: events may be sent and anything may be stored.
 *
 * @example
 * if (allowed(s)) queue._persist(true);
 */
export function allowed(s: State): boolean {
	return s._prefs.analytics === true;
}

/**
 * What `analytics.user()` answers: a copy, so the page cannot change the state through it.
 *
 * @example
 * userOf(s) // { anonymousId: "01J…", userId: null, traits: {} }
 */
export function userOf(s: State): User {
	return {
		anonymousId: s._aid,
		userId: s._uid || null,
		traits: { ...s._traits },
	};
}
