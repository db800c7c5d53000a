declare const __BROWSER__: boolean;

/**
 * Everything the SDK takes from the platform, in one place: the window (document, navigator,
 * fetch, timers, IndexedDB, locks hang off it), the clock, randomness, and storage wrappers that
 * never throw. Blocked storage (private modes, sandboxed frames, disabled cookies) reads as
 * empty and ignores writes, so the SDK falls back to memory without a single try at call sites.
 * Tests pass another runtime; outside a browser there is none and the SDK does nothing.
 *
 * Internal names start with `_`: the build shortens them (esbuild `mangleProps`).
 */
export interface Runtime {
	_w: Window & typeof globalThis;
	_now(): number;
	_random(): number;
	/** localStorage read; null when absent or blocked. */
	_get(key: string): string | null;
	/** localStorage write, or removal when `value` is null; ignored when blocked. */
	_put(key: string, value: string | null): void;
	/** A cookie's decoded value, or "" when absent or blocked. */
	_cookie(name: string): string;
	/** Assigns `document.cookie` (one cookie with its attributes); ignored when blocked. */
	_setCookie(text: string): void;
}

/**
 * The browser's runtime, or undefined outside a browser (SSR), where nothing may touch `window`.
 *
 * @example
 * const rt = browserRuntime();
 * rt?._put("conduit:v1:aid", "01J…");
 */
export function browserRuntime(): Runtime | undefined {
	// The script-tag build only runs in browsers: the flag drops the check from it.
	if (!__BROWSER__ && typeof window === "undefined") return;
	const w = window;
	const ls = (use: (storage: Storage) => unknown) => {
		try {
			return (use(w.localStorage) as string | null) ?? null;
		} catch {
			// Storage access throws when blocked (SecurityError) or full (QuotaExceededError).
			return null;
		}
	};
	return {
		_w: w,
		_now: Date.now,
		_random: Math.random,
		_get: (key) => ls((s) => s.getItem(key)),
		_put: (key, value) =>
			ls((s) => (value === null ? s.removeItem(key) : s.setItem(key, value))),
		_cookie(name) {
			try {
				for (const pair of w.document.cookie.split("; "))
					if (pair.startsWith(`${name}=`))
						return decodeURIComponent(pair.slice(name.length + 1));
			} catch {
				// Cookies are blocked (sandboxed frame, opaque origin) or the value is malformed.
			}
			return "";
		},
		_setCookie(text) {
			try {
				w.document.cookie = text;
			} catch {
				// Blocked cookies throw SecurityError on write; memory still holds the value.
			}
		},
	};
}
