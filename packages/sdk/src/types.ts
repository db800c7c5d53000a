/** A JSON value, as events carry it. */
export type Json =
	| string
	| number
	| boolean
	| null
	| Json[]
	| { [key: string]: Json | undefined };

/** A JSON object: event properties, traits, context. */
export type JsonObject = { [key: string]: Json | undefined };

/**
 * Consent preferences: one boolean per category.
 *
 * @example
 * const preferences: Preferences = { necessary: true, analytics: true, marketing: false };
 */
export type Preferences = Record<string, boolean>;

/**
 * One event, as the Segment Spec describes it and as it is sent to `POST /v1/batch`.
 *
 * @example
 * analytics.use((event: ConduitEvent) => (event.type === "page" ? null : event));
 */
export interface ConduitEvent {
	type: "page" | "track" | "identify" | "group" | "alias";
	/** A ULID: unique, and sortable by creation time. */
	messageId: string;
	anonymousId: string;
	userId?: string;
	/** When the call was made (ISO 8601). */
	timestamp: string;
	/** When the event left the browser; set at send time. */
	sentAt?: string;
	event?: string;
	name?: string;
	category?: string;
	groupId?: string;
	previousId?: string;
	properties?: JsonObject;
	traits?: JsonObject;
	context: JsonObject & {
		consent: { categoryPreferences: Preferences };
	};
}

/**
 * A middleware enriches an event (returns it, changed or not) or drops it (returns null).
 *
 * @example
 * const stripEmail: Middleware = (event) => {
 *   delete event.traits?.email;
 *   return event;
 * };
 */
export type Middleware = (event: ConduitEvent) => ConduitEvent | null;

/** Why events were dropped or a feature fell back; see {@link ConduitError}. */
export type ErrorCode =
	/** The collector rejected these events (its per-event `rejected` list). */
	| "rejected"
	/** The collector refused the whole batch with a non-retryable 4xx status. */
	| "fatal"
	/** An event is larger than the collector accepts. */
	| "too-large"
	/** The queue (or the pre-consent buffer) was full: the oldest events were dropped. */
	| "overflow"
	/** Stored events older than `maxAge` were dropped unsent. */
	| "expired"
	/** IndexedDB is unavailable: events are kept in memory for this page only. */
	| "storage"
	/** An unexpected error inside the SDK, caught so the page never sees it. */
	| "internal";

/**
 * What `onError` receives: an Error with a code and the number of events it concerns.
 *
 * @example
 * createAnalytics({ writeKey, endpoint, onError: (error) => console.warn(error.code, error.count) });
 */
export interface ConduitError extends Error {
	code: ErrorCode;
	/** Events concerned (0 when none were lost, as for "storage"). */
	count: number;
}

/**
 * Consent settings.
 *
 * @example
 * { mode: "opt-in", categories: ["necessary", "analytics", "marketing", "personalisation"] }
 */
export interface ConsentOptions {
	/**
	 * `opt-out` (default): everything is allowed until the person withdraws. `opt-in`: nothing is
	 * stored and no event is sent until `analytics` is granted.
	 */
	mode?: "opt-in" | "opt-out";
	/** Category names (default `necessary`, `analytics`, `marketing`); `necessary` and `analytics` are always included. */
	categories?: string[];
	/** In opt-in mode, how many events are held in memory until the person decides (default 100; 0 holds none). */
	hold?: number;
}

/**
 * Options of {@link createAnalytics}.
 *
 * @example
 * { writeKey: "wk_…", endpoint: "https://collect.example.com", flushAt: 20, consent: { mode: "opt-in" } }
 */
export interface Options {
	/** The source's write key; it travels inside the request body. */
	writeKey: string;
	/** The collector's base URL, e.g. `https://collect.example.com`. */
	endpoint: string;
	/** Send as soon as this many events are waiting (default 20). */
	flushAt?: number;
	/** Send waiting events at most this many milliseconds after the first (default 2,000). */
	flushInterval?: number;
	/** Most events kept unsent; the oldest are dropped first (default 1,000). */
	maxQueue?: number;
	/** Unsent events older than this many milliseconds are dropped (default 7 days). */
	maxAge?: number;
	/** Domain for the identity cookies; by default the registrable domain of the page. */
	cookieDomain?: string;
	consent?: ConsentOptions;
	/** Log events and outcomes to the console. */
	debug?: boolean;
	/** Called when events are dropped or a feature falls back; never throws into the page. */
	onError?: (error: ConduitError) => void;
}

/**
 * The consent API: `analytics.consent`.
 *
 * @example
 * analytics.consent.set({ analytics: true, marketing: false });
 */
export interface Consent {
	/** Records the person's choices (merged into earlier ones) and sends a consent event. */
	set(preferences: Preferences): void;
	/** The preferences in force, one boolean per category. */
	get(): Preferences;
	/** Calls `callback` after every change; returns a function that stops it. */
	onChange(callback: (preferences: Preferences) => void): () => void;
}

/** Who the person is, as the SDK knows it. */
export interface User {
	anonymousId: string;
	userId: string | null;
	traits: JsonObject;
}

/**
 * The SDK instance, returned by {@link createAnalytics} and exposed as `window.conduit` by the
 * script tag. No method ever throws.
 *
 * @example
 * analytics.track("Order Completed", { revenue: 42 });
 */
export interface Analytics {
	page(category?: string, name?: string, properties?: JsonObject): void;
	page(name?: string, properties?: JsonObject): void;
	page(properties?: JsonObject): void;
	track(event: string, properties?: JsonObject): void;
	identify(userId?: string | null, traits?: JsonObject): void;
	identify(traits: JsonObject): void;
	group(groupId: string, traits?: JsonObject): void;
	alias(userId: string, previousId?: string): void;
	/** Forgets the user: a new anonymous ID, no userId, no traits. */
	reset(): void;
	/** Sends everything waiting; resolves true once the queue is empty, false if sending failed. */
	flush(): Promise<boolean>;
	user(): User;
	consent: Consent;
	/** Calls `callback` once the SDK has loaded its state. */
	ready(callback: () => void): void;
	/** Adds a middleware; middlewares run in the order they were added. */
	use(middleware: Middleware): void;
}
