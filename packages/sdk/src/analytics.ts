import { ulid } from "ulid";
import { backoff } from "./backoff";
import { CONSENT_EVENT, preferences } from "./consent";
import { campaign, pageContext, staticContext } from "./context";
import {
	cookieDomain,
	type Identity,
	KEY,
	loadIdentity,
	saveIdentity,
} from "./identity";
import { inert } from "./inert";
import { exclusive, lease } from "./lock";
import { createQueue } from "./queue";
import type { Runtime } from "./runtime";
import { bodies, KEEPALIVE_BYTES, MAX_BYTES, send } from "./transport";
import type {
	Analytics,
	ConduitError,
	ConduitEvent,
	ErrorCode,
	JsonObject,
	Middleware,
	Options,
	Preferences,
} from "./types";

/**
 * A call recorded by the snippet: method (`set` is `consent.set`), arguments, and the time and
 * page it was made on.
 */
export type Call = [string, unknown[], number?, string?, string?];

declare const __BROWSER__: boolean;

const DAY_MS = 86_400_000;
const CONSENT_KEY = `${KEY}consent`;

/** The tracker's one mutable state object. */
interface State extends Identity {
	/** Consent choices the person made explicitly (persisted when allowed). */
	_chosen: Preferences;
	/** Preferences in force: defaults, GPC, then `_chosen`. */
	_prefs: Preferences;
	/** Opt-in mode: events made before the person decided. */
	_held: ConduitEvent[];
	/** Events added since the last flush (for flushAt). */
	_count: number;
	_timer?: ReturnType<typeof setTimeout> | undefined;
	_retry?: ReturnType<typeof setTimeout>;
	/** Failed sends in a row (for the backoff). */
	_attempt: number;
	_middleware: Middleware[];
	_listeners: ((preferences: Preferences) => void)[];
	/** Where and when the call being replayed from the snippet was made. */
	_at?: Call | undefined;
}

/**
 * Builds the SDK on a runtime (see {@link createAnalytics} for the public entry). Without a
 * runtime (server-side rendering) every method is a safe no-op. `calls` are replayed in order
 * once the state is loaded.
 *
 * @example
 * const analytics = start({ writeKey: "wk_…", endpoint: "https://collect.example.com" }, browserRuntime());
 */
export function start(
	options: Options,
	runtime: Runtime | undefined,
	calls: Call[] = [],
): Analytics & { _call(call: Call): void } {
	const {
		writeKey,
		endpoint,
		flushAt = 20,
		flushInterval = 2000,
		maxQueue = 1000,
		maxAge = 7 * DAY_MS,
		consent = {},
		debug,
		onError,
	} = options;
	const { mode = "opt-out", categories = ["marketing"], hold = 100 } = consent;
	const url = `${endpoint}/v1/batch`;
	const log = (...args: unknown[]) =>
		debug && console.log("[conduit]", ...args);
	const report = (code: ErrorCode, count: number, cause?: unknown) => {
		const error: ConduitError = Object.assign(new Error(code, { cause }), {
			code,
			count,
		});
		log(error);
		try {
			onError?.(error);
		} catch {
			// The page's own handler failed: nothing sensible is left to tell it.
		}
	};
	// ulid draws one random number per character, by default each from its own
	// crypto.getRandomValues call: that was most of track()'s cost. Ids need to be unique, not
	// secret; the time part already orders them within a tab, and 80 bits of Math.random per
	// millisecond keep tabs and devices apart.
	// Ids of one tab strictly increase, so they (and the store, keyed by them) sort in call order:
	// a burst within one millisecond takes the next milliseconds for its ids' time part. (ulid's
	// monotonicFactory does this by counting in the random part, for 200 more bytes.)
	let last = 0;
	const id = () => {
		last = Math.max(Date.now(), last + 1);
		return ulid(last, Math.random);
	};
	// Global Privacy Control (navigator.globalPrivacyControl) is not in TypeScript's DOM types yet.
	const gpc =
		(runtime?._w.navigator as { globalPrivacyControl?: boolean } | undefined)
			?.globalPrivacyControl === true;
	const s: State = {
		_aid: id(),
		_traits: {},
		_chosen: {},
		_prefs: {},
		_held: [],
		_count: 0,
		_attempt: 0,
		_middleware: [],
		_listeners: [],
	};
	const allowed = () => s._prefs.analytics === true;
	let domain: string | undefined | null = null;
	const saveId = () => {
		if (!runtime || !allowed()) return;
		if (domain === null) domain = options.cookieDomain || cookieDomain(runtime);
		saveIdentity(runtime, s, domain);
	};
	const load = () => {
		const rt = runtime;
		if (rt) {
			try {
				s._chosen = JSON.parse(rt._get(CONSENT_KEY) || "{}");
			} catch {
				// A corrupted record counts as no decision: the mode's defaults apply.
			}
			Object.assign(
				s,
				loadIdentity(rt, () => s._aid),
			);
		}
		s._prefs = preferences(categories, mode, gpc, s._chosen);
	};
	load();

	// The script-tag build only runs in browsers: the flag drops this branch from it.
	if (!__BROWSER__ && !runtime) return inert(user, () => ({ ...s._prefs }));
	const rt = runtime as Runtime;
	const w = rt._w;
	const d = w.document;
	const base = staticContext(w);
	const queue = createQueue(rt, maxQueue, maxAge, report);
	const tab = id();

	const build = (
		type: ConduitEvent["type"],
		fields: Partial<ConduitEvent>,
	): ConduitEvent => {
		const [, , at = rt._now(), href, title] = s._at || [];
		const page = pageContext(d, href, title);
		const context: ConduitEvent["context"] = {
			...base,
			page,
			consent: { categoryPreferences: s._prefs },
		};
		const utm = campaign(page.search);
		if (utm) context.campaign = utm;
		if (Object.keys(s._traits).length) context.traits = { ...s._traits };
		return {
			type,
			messageId: id(),
			anonymousId: s._aid,
			userId: s._uid,
			timestamp: new Date(at).toISOString(),
			...fields,
			context,
		};
	};
	const add = (event: ConduitEvent) => {
		log(event.type, event);
		queue._add(event);
		if (++s._count >= flushAt) flush();
		else s._timer ||= setTimeout(flush, flushInterval);
	};
	/** Runs the middlewares, then the consent gate: add, hold until the person decides, or drop. */
	const record = (
		type: ConduitEvent["type"],
		fields: Partial<ConduitEvent>,
		necessary?: boolean,
	) => {
		let event: ConduitEvent | null = build(type, fields);
		for (const middleware of s._middleware) {
			event = middleware(event);
			if (!event) return;
		}
		if (necessary || allowed()) add(event);
		else if (mode === "opt-in" && s._chosen.analytics === undefined) {
			s._held.push(event);
			if (s._held.length > hold)
				report("overflow", s._held.splice(0, 1).length);
		}
	};

	let chain = Promise.resolve(true);
	let next: Promise<boolean> | undefined;
	/** Events in keepalive requests: they outlive the page, so pagehide need not send them again. */
	const flying = new Set<string>();
	/**
	 * One flush at a time per tab; calls made while one waits share it. `limit` caps each body
	 * (the page being hidden asks for keepalive-sized ones).
	 */
	function flush(limit = MAX_BYTES): Promise<boolean> {
		clearTimeout(s._timer);
		s._timer = undefined;
		s._count = 0;
		next ||= chain = chain
			.then(async () => {
				next = undefined;
				const drain = async () => deliver(await queue._all(), limit);
				if (!queue._shared()) return drain();
				const done = await exclusive(rt, tab, drain);
				if (done !== undefined) return done;
				// Another tab holds the lease and sends stored events, ours included: look again later.
				s._timer ||= setTimeout(flush, flushInterval);
				return false;
			})
			.catch((error) => {
				report("internal", 0, error);
				return false;
			});
		return next;
	}
	/** Sends `events` in bodies of at most `limit` bytes; false once one must wait for a retry. */
	async function deliver(
		events: ConduitEvent[],
		limit: number,
	): Promise<boolean> {
		for (const [batch, body, bytes] of bodies(
			events,
			writeKey,
			limit,
			rt._now(),
		)) {
			// Small enough bodies go with keepalive, so closing the tab does not cancel them.
			const keepalive = bytes <= KEEPALIVE_BYTES;
			const ids = batch.map((e) => e.messageId);
			if (keepalive) for (const id of ids) flying.add(id);
			const sent = await send(rt, url, body, keepalive);
			for (const id of ids) flying.delete(id);
			const result = sent._outcome;
			log(result, batch.length, sent._rejected);
			if (result === "retry-later") return later(sent._wait);
			if (result === "too-large" && batch.length > 1) {
				// The collector's limit is tighter than ours: halve until it fits or one event is left.
				const half = batch.length >> 1;
				if (
					!(await deliver(batch.slice(0, half), limit)) ||
					!(await deliver(batch.slice(half), limit))
				)
					return false;
				continue;
			}
			await queue._del(batch);
			if (result !== "ok") report(result, batch.length);
			else if (sent._rejected.length)
				report("rejected", sent._rejected.length, sent._rejected);
		}
		s._attempt = 0;
		return true;
	}
	/** Schedules the next try (backoff, Retry-After); false, for the caller to return. */
	function later(wait: number): false {
		clearTimeout(s._retry);
		s._retry = setTimeout(flush, backoff(s._attempt++, rt._random(), wait));
		return false;
	}
	/**
	 * The page is going away and promises may never settle: hand this tab's events that are not
	 * already in a keepalive request to one more, at once. What does not fit stays stored.
	 */
	const unload = () => {
		// A closing tab gives back the fallback lease (Web Locks release themselves).
		if (!w.navigator.locks) lease(rt, tab, false).catch(log);
		const [first] = bodies(
			queue._mem().filter((e) => !flying.has(e.messageId)),
			writeKey,
			KEEPALIVE_BYTES,
			rt._now(),
		);
		if (first)
			send(rt, url, first[1], true).then((sent) => {
				if (sent._outcome === "ok") queue._del(first[0]);
			});
	};

	const safe =
		<A extends unknown[], R>(fn: (...args: A) => R) =>
		(...args: A): R | undefined => {
			try {
				return fn(...args);
			} catch (error) {
				report("internal", 0, error);
			}
		};
	const setConsent = (choices: Preferences) => {
		const was = allowed();
		for (const name in choices)
			if (typeof choices[name] === "boolean") s._chosen[name] = choices[name];
		s._prefs = preferences(categories, mode, gpc, s._chosen);
		const now = allowed();
		// Opt-in: a refusal is not stored (nothing may be); opt-out: the withdrawal must outlive the visit.
		rt._put(
			CONSENT_KEY,
			now || mode === "opt-out" ? JSON.stringify(s._chosen) : null,
		);
		if (was && !now) {
			queue._persist(false);
			queue._del(queue._mem());
			saveIdentity(rt, null, domain ?? options.cookieDomain);
		}
		if (now && !was) {
			queue._persist(true);
			saveId();
		}
		const held = s._held.splice(0);
		if (now)
			for (const event of held) {
				event.context.consent.categoryPreferences = s._prefs;
				add(event);
			}
		record("track", { event: CONSENT_EVENT, properties: {} }, true);
		for (const listener of s._listeners) safe(listener)({ ...s._prefs });
	};

	const api = {
		page: safe(
			(category?: unknown, name?: unknown, properties?: JsonObject) => {
				if (typeof name !== "string") {
					properties = (
						typeof category === "object" ? category : name
					) as JsonObject;
					name = typeof category === "string" ? category : undefined;
					category = undefined;
				}
				record("page", {
					category: category as string,
					name: name as string,
					// Segment's page properties repeat context.page, so destinations see them either way.
					properties: {
						...pageContext(d, s._at?.[3], s._at?.[4]),
						...properties,
					},
				});
			},
		),
		track: safe((event: string, properties?: JsonObject) =>
			record("track", { event, properties: properties || {} }),
		),
		identify: safe((userId?: unknown, traits?: JsonObject) => {
			if (userId && typeof userId === "object") {
				traits = userId as JsonObject;
				userId = undefined;
			}
			if (userId != null) s._uid = `${userId}`;
			Object.assign(s._traits, traits);
			saveId();
			record("identify", { traits: { ...s._traits } });
		}),
		group: safe((groupId: string, traits?: JsonObject) =>
			record("group", { groupId, traits: traits || {} }),
		),
		alias: safe((userId: string, previousId?: string) =>
			record("alias", {
				userId,
				previousId: previousId || s._uid || s._aid,
			}),
		),
		reset: safe(() => {
			s._aid = id();
			s._uid = undefined;
			s._traits = {};
			saveId();
		}),
		flush: () => flush(),
		user: () => user(),
		consent: {
			set: safe(setConsent),
			get: () => ({ ...s._prefs }),
			onChange: (listener: (preferences: Preferences) => void) => {
				s._listeners.push(listener);
				return () => {
					s._listeners = s._listeners.filter((l) => l !== listener);
				};
			},
		},
		ready: safe((callback: () => void) =>
			Promise.resolve().then(safe(callback)),
		),
		use: safe((middleware: Middleware) => s._middleware.push(middleware)),
		_call: safe((call: Call) => {
			const [method, args] = call;
			const methods = { ...api.consent, ...api } as Record<string, unknown>;
			const fn = methods[method];
			s._at = call;
			try {
				if (typeof fn === "function") fn(...args);
			} finally {
				s._at = undefined;
			}
		}),
	};

	const on = (
		target: EventTarget,
		type: string,
		listener: (e: Event) => void,
	) => target.addEventListener(type, safe(listener));
	on(w, "pagehide", unload);
	on(
		d,
		"visibilitychange",
		() => d.visibilityState === "hidden" && flush(KEEPALIVE_BYTES),
	);
	on(w, "online", () => {
		s._attempt = 0;
		flush();
	});
	// Another tab identified, reset or changed consent: follow it.
	on(w, "storage", (e) => (e as StorageEvent).key?.startsWith(KEY) && load());

	if (allowed()) {
		queue._persist(true);
		saveId();
	}
	for (const call of calls) api._call(call);
	// Events stored on an earlier visit (or by a tab that closed) go with this page's first batch.
	if (allowed()) s._timer ||= setTimeout(flush, flushInterval);
	return api as Analytics & { _call(call: Call): void };

	function user() {
		return {
			anonymousId: s._aid,
			userId: s._uid || null,
			traits: { ...s._traits },
		};
	}
}
