import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../../config/load";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";

/**
 * Finds the source by its write key: HTTP Basic username (`base64("<writeKey>:")`, colon
 * optional) as Segment's server libraries send it, else `writeKey` in the JSON body, which is
 * all a browser's sendBeacon can carry, else the `writeKey` query parameter, where
 * rudder-sdk-js's beacon queue puts it. Sets `c.get("source")`; a missing or unknown key → 401.
 *
 * @example
 * app.post("/v1/batch", jsonBody(opts), writeKeyAuth(), handler);
 */
export function writeKeyAuth(): MiddlewareHandler<AppEnv> {
	return async function writeKeyAuth(c, next) {
		const fromHeader = basicUsername(c.req.header("authorization"));
		const bodyKey = c.get("body").writeKey;
		const writeKey =
			fromHeader ??
			(typeof bodyKey === "string" ? bodyKey : undefined) ??
			c.req.query("writeKey");
		if (!writeKey) {
			throw new ApiError(
				401,
				"unauthorized",
				"Missing write key: send it as the HTTP Basic username or as 'writeKey' in the body",
				{
					"WWW-Authenticate": 'Basic realm="conduit"',
				},
			);
		}
		const config = await loadConfig(c.env);
		const source = config.sourcesByWriteKey.get(writeKey);
		if (!source) throw new ApiError(401, "unauthorized", "Unknown write key");
		c.set("config", config);
		c.set("source", source);
		await next();
	};
}

/**
 * The username of an HTTP Basic `Authorization` header (RFC 7617), or undefined.
 *
 * @example
 * basicUsername("Basic " + btoa("wk_123:")) // "wk_123"
 */
export function basicUsername(header: string | undefined): string | undefined {
	if (!header) return undefined;
	const match = /^Basic\s+(\S+)\s*$/i.exec(header);
	if (!match?.[1]) return undefined;
	let decoded: string;
	try {
		decoded = atob(match[1]);
	} catch {
		throw new ApiError(
			401,
			"unauthorized",
			"The Authorization header is not valid base64",
		);
	}
	const colon = decoded.indexOf(":");
	const username = colon === -1 ? decoded : decoded.slice(0, colon);
	return username || undefined;
}
