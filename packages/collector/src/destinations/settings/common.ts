import * as v from "valibot";

/**
 * An http(s) URL. Every vendor type takes one as its endpoint override (EU data residency, a
 * proxy, or a local test server); `http:` is allowed for the last.
 *
 * @example
 * v.parse(HttpUrlSchema, "https://api-eu.mixpanel.com")
 */
export const HttpUrlSchema = v.pipe(
	v.string(),
	v.check((value) => {
		try {
			const { protocol } = new URL(value);
			return protocol === "https:" || protocol === "http:";
		} catch {
			// Not a URL: the check fails with the message below.
			return false;
		}
	}, "must be an http(s) URL"),
);

/**
 * Joins an endpoint override (which may carry a path prefix) and an API path.
 *
 * @example
 * joinUrl("http://127.0.0.1:4100/", "/import?strict=1") // "http://127.0.0.1:4100/import?strict=1"
 */
export function joinUrl(base: string, path: string): string {
	return `${base.replace(/\/+$/, "")}${path}`;
}
