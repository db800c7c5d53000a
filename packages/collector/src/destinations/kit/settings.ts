import * as v from "valibot";
import { privateHostReason } from "./private-network";

function isHttpUrl(value: string): boolean {
	try {
		const { protocol } = new URL(value);
		return protocol === "https:" || protocol === "http:";
	} catch {
		// Not a URL: the check fails with its message.
		return false;
	}
}

/**
 * Whether a URL's host is on the public internet (see `privateHostReason`). Exported so the
 * config can recognise its issues: a document with `"allowPrivateNetwork": true` lets them pass.
 * A string that is not a URL passes here; `isHttpUrl` reports it.
 *
 * @example
 * isPublicUrl("http://10.0.0.1/hook") // false
 */
export function isPublicUrl(value: string): boolean {
	return (
		!isHttpUrl(value) ||
		privateHostReason(new URL(value).hostname) === undefined
	);
}

/**
 * An http(s) URL on a public host. Every vendor type takes one as its endpoint override (EU data
 * residency, a proxy, or a local test server); `http:` is allowed for the last. Private,
 * loopback, link-local and internal hosts are refused unless the config document sets
 * `"allowPrivateNetwork": true` (see config/schema.ts), so a config cannot point the Worker at
 * a metadata service or another machine on the network it runs in.
 *
 * @example
 * v.parse(HttpUrlSchema, "https://api-eu.mixpanel.com")
 */
export const HttpUrlSchema = v.pipe(
	v.string(),
	v.check(isHttpUrl, "must be an http(s) URL"),
	v.check(
		isPublicUrl,
		(issue) =>
			`${privateHostReason(new URL(String(issue.input)).hostname)}; private, loopback and internal hosts need "allowPrivateNetwork": true at the top of the config (local development only)`,
	),
);

/**
 * Whether a validation issue is the private-host refusal of `HttpUrlSchema`.
 *
 * @example
 * result.issues.filter((issue) => !isPrivateNetworkIssue(issue))
 */
export function isPrivateNetworkIssue(issue: v.BaseIssue<unknown>): boolean {
	return issue.type === "check" && issue.requirement === isPublicUrl;
}

/**
 * Joins an endpoint override (which may carry a path prefix) and an API path. The trailing
 * slashes are counted from the end, one pass: a regular expression such as `/\/+$/` retries
 * from every slash of a long run that is followed by something else, which is quadratic.
 *
 * @example
 * joinUrl("http://127.0.0.1:4100/", "/import?strict=1") // "http://127.0.0.1:4100/import?strict=1"
 */
export function joinUrl(base: string, path: string): string {
	let end = base.length;
	while (end > 0 && base.charCodeAt(end - 1) === SLASH) end--;
	return `${base.slice(0, end)}${path}`;
}

const SLASH = 0x2f;
