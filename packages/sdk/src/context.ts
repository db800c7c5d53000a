import type { Call } from "./call";
import type { JsonObject } from "./types";

declare const __VERSION__: string;

let zone: string | undefined;

/** Temporal is not in TypeScript's lib yet; Chromium 144 and Firefox 139 ship it. */
declare const Temporal: { Now: { timeZoneId(): string } } | undefined;

/**
 * The IANA time zone (`context.timezone`), read once. Temporal gives it in about 0.1 ms. Without
 * Temporal, Intl's first read loads the browser's ICU calendar data and blocks the page for
 * 50–400 ms, so it is not done at start-up: the SDK reads it when the browser is idle, or when
 * it first sends, whichever comes first (`known` asks without reading Intl).
 *
 * @example
 * timeZone() // "Europe/Paris"
 * timeZone(true) // "Europe/Paris" with Temporal or once read, else undefined
 */
export function timeZone(known?: boolean): string | undefined {
	zone ||=
		typeof Temporal === "object"
			? Temporal.Now.timeZoneId()
			: known
				? zone
				: Intl.DateTimeFormat().resolvedOptions().timeZone;
	return zone;
}

/**
 * The parts of `context` that do not change while the page lives, read once (the time zone
 * apart: see {@link timeZone}).
 *
 * @example
 * staticContext(window) // { library: { name: "@conduit/sdk", version: "0.1.0" }, userAgent, locale, screen }
 */
export function staticContext(w: Window): JsonObject {
	const { navigator: nav, screen } = w;
	return {
		library: { name: "@conduit/sdk", version: __VERSION__ },
		userAgent: nav.userAgent,
		locale: nav.language,
		screen: {
			width: screen.width,
			height: screen.height,
			density: w.devicePixelRatio,
		},
	};
}

/** The last URL {@link pageContext} read, and its parts. */
let read: string | undefined;
let parts: ReturnType<typeof pageContext>;

/**
 * `context.page`: the current page, or the one a snippet call was recorded on (`call`'s URL and
 * title). The URL leaves out the fragment, as Segment's libraries do. Its parts are read again
 * only when the URL changed: `document.URL` is one cheap read, while parsing it (or reading
 * `location`'s parts) costs a burst of events more than the rest of its context.
 *
 * @example
 * pageContext(document, ["page", [], Date.now(), "https://shop.example/cart?utm_source=x", "Cart"])
 * // { path: "/cart", referrer: "…", search: "?utm_source=x", title: "Cart", url: "https://shop.example/cart?utm_source=x" }
 */
export function pageContext(
	d: Document,
	call?: Call,
): {
	path: string;
	referrer: string;
	search: string;
	title: string;
	url: string;
} {
	const href = call?.[3] || d.URL;
	if (href !== read) {
		const { origin, pathname, search } = new URL(href);
		read = href;
		// The referrer and title are read for each event, into these places.
		parts = {
			path: pathname,
			referrer: "",
			search,
			title: "",
			url: origin + pathname + search,
		};
	}
	return { ...parts, referrer: d.referrer, title: call?.[4] ?? d.title };
}

/**
 * `context.campaign` from UTM parameters (`utm_campaign` becomes `name`, the rest keep their
 * suffix), or undefined when there are none.
 *
 * @example
 * campaign("?utm_source=news&utm_campaign=spring") // { source: "news", name: "spring" }
 */
export function campaign(search: string): JsonObject | undefined {
	let result: JsonObject | undefined;
	// Most pages carry no UTM parameters: not parsing them saves every event a URLSearchParams.
	if (!search.includes("utm_")) return;
	for (const [key, value] of new URLSearchParams(search))
		if (key.startsWith("utm_")) {
			result ??= {};
			result[key === "utm_campaign" ? "name" : key.slice(4)] = value;
		}
	return result;
}
