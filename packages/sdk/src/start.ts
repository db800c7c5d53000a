import { createApi } from "./api";
import type { Call, Instance } from "./call";
import { consentSetter } from "./consent-set";
import { timeZone } from "./context";
import type { Core } from "./core";
import { identitySaver, KEY, settled } from "./identity";
import { ids } from "./ids";
import { inert } from "./inert";
import { createQueue } from "./queue";
import { reporter } from "./report";
import type { Runtime } from "./runtime";
import { createSender } from "./sender";
import { allowed, consentRules, createState, loadState, userOf } from "./state";
import { createTracker } from "./tracker";
import { KEEPALIVE_BYTES } from "./transport";
import type { Options } from "./types";

declare const __BROWSER__: boolean;

const DAY_MS = 86_400_000;

/**
 * Builds the SDK on a runtime (see `createAnalytics` for the public entry): state (state.ts),
 * the tracker that turns calls into queued events (tracker.ts), consent changes
 * (consent-set.ts), the sender (sender.ts) and the public methods (api.ts), then listens to the
 * page's life. Without a runtime (server-side rendering) every method is a safe no-op. `calls`
 * are replayed in order once the state is loaded.
 *
 * Start-up does only what the first call needs; the time zone is read when the browser is idle
 * (or at the first send), and events that earlier visits left stored are sent at once.
 *
 * @example
 * const analytics = start({ writeKey: "wk_…", endpoint: "https://collect.example.com" }, browserRuntime());
 */
export function start(
	options: Options,
	runtime: Runtime | undefined,
	calls: Call[] = [],
): Instance {
	const {
		writeKey,
		endpoint,
		flushAt = 20,
		flushInterval = 2000,
		maxQueue = 1000,
		maxAge = 7 * DAY_MS,
		consent = {},
	} = options;
	const r = reporter(options);
	const id = ids(Date.now, Math.random);
	const rules = consentRules(consent);
	const s = createState(id());

	// The script-tag build only runs in browsers: the flag drops this branch from it.
	if (!__BROWSER__ && !runtime) {
		loadState(s, runtime, rules);
		return inert(
			() => userOf(s),
			() => ({ ...s._prefs }),
		);
	}
	const rt = runtime as Runtime;
	const w = rt._w;
	const d = w.document;
	const queue = createQueue(rt, maxQueue, maxAge, r._report);
	const sender = createSender(
		rt,
		queue,
		{
			_url: `${endpoint}/v1/batch`,
			_writeKey: writeKey,
			_flushAt: flushAt,
			_flushInterval: flushInterval,
		},
		r,
		id(),
	);
	const on = <E extends Event>(
		target: EventTarget,
		type: string,
		listener: (e: E) => void,
	) => target.addEventListener(type, r._safe(listener) as EventListener);
	/** Resolves `_loaded`; unset once `_load` has begun, which makes it run once. */
	let loaded: (() => void) | undefined;
	const core: Core = {
		_rt: rt,
		_s: s,
		_rules: rules,
		_queue: queue,
		_sender: sender,
		_r: r,
		_id: id,
		_save: identitySaver(rt, options.cookieDomain),
		_load: r._safe(() => {
			const done = loaded;
			if (!done) return;
			loaded = undefined;
			// Another tab identified, reset or changed consent: follow it, reading the news from
			// localStorage, as this page's view of the cookies may lag. Listening opens the page's
			// localStorage, as its first read does: both block a fresh page for 2–60 ms in
			// Chromium, so neither is done in createAnalytics(). The listener comes first: what
			// another tab writes after the read below is then heard, what it wrote before is read.
			on(
				w,
				"storage",
				(e: StorageEvent) =>
					e.key?.startsWith(KEY) && loadState(s, rt, rules, true),
			);
			loadState(s, rt, rules);
			if (allowed(s)) {
				queue._persist(true);
				if (settled(rt)) core._save(s);
				// Asked before the replayed calls below add anything: what an earlier visit or a
				// closed tab left unsent goes now, not one flushInterval later.
				queue._stored().then<unknown>((stored) => stored && sender._flush());
			}
			// Nothing is queued before the state is loaded: the page's listeners can wait too.
			on(w, "pagehide", sender._unload);
			on(
				d,
				"visibilitychange",
				() => d.visibilityState === "hidden" && sender._flush(KEEPALIVE_BYTES),
			);
			on(w, "online", sender._online);
			for (const call of calls) api._call(call);
			done();
		}),
		_loaded: new Promise((resolve) => {
			loaded = resolve;
		}),
	};
	const tracker = createTracker(core);
	const api = createApi(core, tracker, consentSetter(core, tracker));

	// Idle time, or soon on a busy page: the state is needed by the first call at the latest,
	// and stored events should go out within a few hundred milliseconds of load. Safari has no
	// requestIdleCallback; a task of its own is the next best thing.
	const idle = (task: () => void) =>
		w.requestIdleCallback
			? w.requestIdleCallback(task, { timeout: 100 })
			: setTimeout(task, 1);
	// The time zone is read in a task of its own, so the two reads are not one long task.
	idle(() => {
		core._load();
		idle(() => timeZone());
	});
	return api;
}
