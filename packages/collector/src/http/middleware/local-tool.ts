import ipaddr from "ipaddr.js";

/**
 * The header a local tool sends to use the development admin token. Browsers forbid page script
 * to set any `Sec-` header (Fetch standard, "forbidden request-header"), so no web page can
 * send it — not even one that DNS rebinding has made same-origin with `wrangler dev`.
 */
const LOCAL_TOOL_HEADER = "Sec-Conduit-Local";

const LOCAL_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Why a request may not use the development token, and whether that makes it a deployment.
 *
 * @example
 * { status: 403, reason: "works for local tools only: send 'Sec-Conduit-Local: 1' (web pages cannot)" }
 */
export interface DevTokenRefusal {
	/** 503: the Worker looks deployed or reached from elsewhere; 403: a local request from a page. */
	status: 403 | 503;
	reason: string;
}

/**
 * Whether a request may use the published development token, decided from what neither a
 * remote client nor a web page can choose:
 *
 * 1. Its URL host is localhost. Under Cloudflare the URL is the real host; under `wrangler dev`
 *    it can be set by the client (Miniflare's `MF-Original-URL`), so this alone proves nothing.
 * 2. `CF-Connecting-IP` is a loopback address. Cloudflare's edge sets it to the client's
 *    address, which is never loopback, so a deployed Worker always refuses. Under `wrangler
 *    dev`, Miniflare sets it from the socket's peer (unless the client sent one), and wrangler
 *    dev listens on localhost unless told otherwise.
 * 3. It carries `Sec-Conduit-Local: 1`, which no web page can send. A page that DNS rebinding
 *    made same-origin with the dev server can set every other header (MF-Original-URL,
 *    CF-Connecting-IP, Authorization), and for a GET with `referrerPolicy: "no-referrer"`
 *    Chromium sends neither Origin nor Referer nor Sec-Fetch-Site (Fetch Metadata is only sent
 *    to trustworthy origins, and http://evil.example is not): only a forbidden header tells it
 *    from curl.
 *
 * @example
 * devTokenRefusal(new Request("http://localhost:8787/admin", {
 *   headers: { "CF-Connecting-IP": "127.0.0.1", "Sec-Conduit-Local": "1" } })) // undefined
 */
export function devTokenRefusal(request: Request): DevTokenRefusal | undefined {
	if (!LOCAL_HOSTNAMES.has(new URL(request.url).hostname))
		return { status: 503, reason: "is refused on any host but localhost" };
	if (!isLoopback(request.headers.get("CF-Connecting-IP")))
		return {
			status: 503,
			reason:
				"is refused unless the connection comes from this machine (CF-Connecting-IP is not a loopback address)",
		};
	if (request.headers.get(LOCAL_TOOL_HEADER) !== "1")
		return {
			status: 403,
			reason: `works for local tools only: send '${LOCAL_TOOL_HEADER}: 1' (web pages cannot)`,
		};
	return undefined;
}

function isLoopback(address: string | null): boolean {
	if (address === null || !ipaddr.isValid(address)) return false;
	return ipaddr.process(address).range() === "loopback";
}
