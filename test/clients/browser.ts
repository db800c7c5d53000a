import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * analytics-next, rudder-sdk-js v3 (its bundled build: no plugin fetched from a CDN) and
 * Hightouch's browser SDK, as installed from npm, bundled into one script that puts
 * `AnalyticsBrowser`, `RudderAnalytics` and `HtEventsBrowser` on window.
 */
async function libraries(): Promise<string> {
	const result = await build({
		stdin: {
			contents: [
				'import { AnalyticsBrowser } from "@segment/analytics-next";',
				'import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";',
				'import { HtEventsBrowser } from "@ht-sdks/events-sdk-js-browser";',
				"Object.assign(window, { AnalyticsBrowser, RudderAnalytics, HtEventsBrowser });",
			].join("\n"),
			resolveDir: root,
			loader: "js",
		},
		bundle: true,
		format: "iife",
		target: "es2022",
		write: false,
		logLevel: "error",
	});
	return result.outputFiles[0]?.text ?? "";
}

/**
 * A page on a loopback origin (Chromium lets only local pages call a loopback collector) that
 * loads the libraries; tests drive them with page.evaluate.
 *
 * @example
 * const site = await serveLibraries(); // site.origin: "http://localhost:41234"
 */
export async function serveLibraries(): Promise<{
	origin: string;
	close(): void;
}> {
	const script = await libraries();
	const server: Server = createServer((request, response) => {
		if (request.url === "/libraries.js")
			return response
				.writeHead(200, { "content-type": "text/javascript" })
				.end(script);
		if (request.url === "/")
			return response
				.writeHead(200, { "content-type": "text/html" })
				.end('<!doctype html><script src="/libraries.js"></script>');
		response.writeHead(404).end();
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "localhost", resolve);
	});
	return {
		origin: `http://localhost:${(server.address() as AddressInfo).port}`,
		close: () => server.close(),
	};
}
