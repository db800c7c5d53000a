import type { Runtime } from "./runtime";
import type { JsonObject } from "./types";

/** Who the person is; the tracker's state object carries these fields. */
export interface Identity {
	_aid: string;
	_uid?: string | undefined;
	_traits: JsonObject;
}

/**
 * Prefix of every localStorage key: versioned and namespaced.
 *
 * @example
 * rt._get(`${KEY}consent`) // the stored consent choices
 */
export const KEY = "conduit:v1:";
/**
 * Cookie names cannot contain ':' (RFC 6265 §4.1.1: a cookie-name is an RFC 2616 token), so
 * cookies use `conduit_v1_` where localStorage uses `conduit:v1:`.
 */
const COOKIE = "conduit_v1_";
const YEAR_SECONDS = 31_536_000;

/**
 * Reads the identity from the cookies, else their localStorage mirror; a missing anonymous ID
 * is created with `newId` (and is only in memory until {@link saveIdentity}). `mirrorFirst`
 * reads the mirror first: when another tab's write to it fired a `storage` event, the mirror
 * holds the news, while this page's view of the cookies may still be the old one (Chromium
 * caches cookies per page and learns of changes asynchronously).
 *
 * @example
 * const identity = loadIdentity(rt, ulid); // { _aid: "01J…", _uid: "u1", _traits: { plan: "pro" } }
 */
export function loadIdentity(
	rt: Runtime,
	newId: () => string,
	mirrorFirst?: boolean,
): Identity {
	const read = (name: string) => {
		const [cookie, mirror] = stored(rt, name);
		return (mirrorFirst ? mirror || cookie : cookie || mirror) || undefined;
	};
	return {
		_aid: read("aid") || newId(),
		_uid: read("uid"),
		_traits: storedJson(rt, `${KEY}traits`),
	};
}

/**
 * The JSON object stored under `key` in localStorage, or `{}` when there is none or it is
 * corrupted: a corrupted record counts as none (no traits, no consent decision).
 *
 * @example
 * storedJson(rt, `${KEY}traits`) // { plan: "pro" }
 */
export function storedJson(rt: Runtime, key: string): JsonObject {
	try {
		return JSON.parse(rt._get(key) || "{}");
	} catch {
		return {};
	}
}

/**
 * Whether saving the identity now cannot undo another tab's newer one: false when a cookie and
 * its mirror both hold an ID and differ, as when another tab has just written both and this
 * page's view of the cookies lags (a `storage` event brings the news), or another subdomain
 * changed the cookie. A missing cookie or mirror is restored from the other.
 *
 * @example
 * if (settled(rt)) save(identity); // renews the cookies' year
 */
export function settled(rt: Runtime): boolean {
	return ["aid", "uid"].every((name) => {
		const [cookie, mirror] = stored(rt, name);
		return !cookie || !mirror || cookie === mirror;
	});
}

/** An ID's cookie ("" when absent) and its localStorage mirror (null when absent). */
const stored = (rt: Runtime, name: string) =>
	[rt._cookie(COOKIE + name), rt._get(KEY + name)] as const;

/**
 * Sets our cookie `name` to `value` for a year (SameSite=Lax, Secure on https, on `domain` or
 * host-only), or deletes it when `value` is empty.
 */
const bake = (
	rt: Runtime,
	name: string,
	value: string | undefined,
	domain: string | undefined,
) =>
	rt._setCookie(
		`${COOKIE}${name}=${value ? encodeURIComponent(value) : ""}; Max-Age=${value ? YEAR_SECONDS : 0}; Path=/; SameSite=Lax${rt._w.location.protocol === "https:" ? "; Secure" : ""}${domain ? `; Domain=${domain}` : ""}`,
	);

/**
 * Writes the identity to first-party cookies (one year, renewed on each call, SameSite=Lax,
 * Secure on https) and to localStorage, which all tabs share; `identity` null erases both.
 *
 * @param domain cookie Domain attribute; undefined makes a host-only cookie
 * @example
 * saveIdentity(rt, { _aid: "01J…", _traits: {} }, "example.com");
 * saveIdentity(rt, null, "example.com"); // consent withdrawn: nothing remains
 */
export function saveIdentity(
	rt: Runtime,
	identity: Identity | null,
	domain: string | undefined,
): void {
	const ids: [string, string | undefined][] = [
		["aid", identity?._aid],
		["uid", identity?._uid],
	];
	for (const [name, value] of ids) {
		rt._put(KEY + name, value || null);
		bake(rt, name, value, domain);
	}
	rt._put(`${KEY}traits`, identity ? JSON.stringify(identity._traits) : null);
}

/**
 * Saves the identity as {@link saveIdentity} does (null erases it), on `cookieDomain` or else the
 * page's registrable domain, probed once, on the first save: probing writes cookies, and
 * erasing needs no probe (nothing was saved on this visit, and the option's domain, or a
 * host-only cookie, is then the only guess left).
 *
 * @example
 * const save = identitySaver(rt, options.cookieDomain);
 * save({ _aid: "01J…", _traits: {} });
 * save(null); // consent withdrawn
 */
export function identitySaver(
	rt: Runtime,
	cookieDomain: string | undefined,
): (identity: Identity | null) => void {
	let domain: string | undefined | null = null;
	return (identity) => {
		if (identity && domain === null) domain = cookieDomain || registrable(rt);
		saveIdentity(rt, identity, domain ?? cookieDomain);
	};
}

/**
 * The registrable domain of the page ("shop.example.co.uk" → "example.co.uk"), found the way
 * browsers allow: the shortest parent domain that accepts a cookie (the browser refuses public
 * suffixes such as "co.uk"). Undefined for single-label hosts and IP addresses: host-only then.
 *
 * @example
 * registrable(rt) // "example.com" on www.example.com
 */
export function registrable(rt: Runtime): string | undefined {
	const labels = rt._w.location.hostname.split(".");
	for (let i = labels.length - 2; i > 0; i--) {
		const domain = labels.slice(i).join(".");
		bake(rt, "probe", "1", domain);
		if (rt._cookie(`${COOKIE}probe`)) {
			bake(rt, "probe", "", domain);
			return domain;
		}
	}
}
