import type { Call, Instance } from "./call";
import { pageContext } from "./context";
import type { Core } from "./core";
import { allowed, userOf } from "./state";
import type { Tracker } from "./tracker";
import type { JsonObject, Middleware, Preferences } from "./types";

/**
 * The public API: Segment's argument shapes read into events, every method wrapped so that it
 * never throws into the page (errors are reported as `internal`) and loads the state first if
 * start-up has not yet. `_call` replays a call the snippet recorded, with its time and page.
 *
 * @example
 * const api = createApi(core, tracker, consentSetter(core, tracker));
 * api.page("Docs", "Setup");
 */
export function createApi(
	{
		_rt: rt,
		_s: s,
		_r: r,
		_sender: sender,
		_save: save,
		_id: id,
		_load: load,
		_loaded: loaded,
	}: Core,
	{ _record: record }: Tracker,
	setConsent: (choices: Preferences) => void,
): Instance {
	const safe = <A extends unknown[], R>(fn: (...args: A) => R) =>
		r._safe((...args: A) => {
			load();
			return fn(...args);
		});
	const d = rt._w.document;
	const saveId = () => allowed(s) && save(s);
	const api: Instance = {
		page: safe((category?: unknown, name?: unknown, properties?: unknown) => {
			if (typeof name !== "string") {
				properties = typeof category === "object" ? category : name;
				name = typeof category === "string" ? category : undefined;
				category = undefined;
			}
			record("page", {
				category: category as string,
				name: name as string,
				// Segment's page properties repeat context.page, so destinations see them either way.
				properties: {
					...pageContext(d, s._at),
					...(properties as JsonObject),
				},
			});
		}),
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
			record("alias", { userId, previousId: previousId || s._uid || s._aid }),
		),
		reset: safe(() => {
			s._aid = id();
			s._uid = undefined;
			s._traits = {};
			saveId();
		}),
		flush: safe(() => sender._flush()),
		user: safe(() => userOf(s)),
		consent: {
			set: safe(setConsent),
			get: safe(() => ({ ...s._prefs })),
			onChange: (listener: (preferences: Preferences) => void) => {
				s._listeners.push(listener);
				return () => {
					s._listeners = s._listeners.filter((l) => l !== listener);
				};
			},
		},
		ready: r._safe((callback: () => void) => {
			loaded.then(r._safe(callback));
		}),
		use: safe((middleware: Middleware) => {
			s._middleware.push(middleware);
		}),
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
	} as Instance;
	return api;
}
