import { getPath } from "hono/utils/url";

/**
 * Paths Segment- and RudderStack-protocol clients post to, and the route that serves each.
 * analytics.js and analytics-next send single calls to `/v1/<first letter of the type>` and
 * batches to `/v1/b` (so do analytics-swift, -kotlin and -react-native); rudder-sdk-js v3's
 * beacon queue posts to `/beacon/v1/batch` with the write key in the query string.
 */
const ALIASES: Readonly<Record<string, string>> = {
	"/v1/t": "/v1/track",
	"/v1/p": "/v1/page",
	"/v1/i": "/v1/identify",
	"/v1/s": "/v1/screen",
	"/v1/g": "/v1/group",
	"/v1/a": "/v1/alias",
	"/v1/b": "/v1/batch",
	"/beacon/v1/batch": "/v1/batch",
};

/**
 * The path a request is routed by: its URL path without trailing slashes (analytics-java posts
 * to `/v1/import/`, rudder-sdk-js asks for `/sourceConfig/`), then mapped through the client
 * aliases. Answering a redirect instead is no option: clients count a 3xx as delivered.
 * Used as the Hono app's `getPath`, so every route takes every spelling.
 *
 * @example
 * routePath(new Request("https://c.example/v1/t"))          // "/v1/track"
 * routePath(new Request("https://c.example/v1/import/"))    // "/v1/import"
 */
export function routePath(request: Request): string {
	const path = getPath(request).replace(/(?<=.)\/+$/, "");
	return ALIASES[path] ?? path;
}
