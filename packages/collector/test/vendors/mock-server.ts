import { createServer, type IncomingMessage, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import type { RecordedRequest, ScriptedResponse } from "./secrets";

/** A request as a vendor handler sees it. */
export interface VendorRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: Record<string, string>;
	text: string;
	/** The parsed JSON body, or undefined when it is not JSON. */
	json: unknown;
}

/** What a vendor handler decides: the contract violations found and its own answer. */
export interface VendorAnswer {
	violations: string[];
	status: number;
	body?: unknown;
	headers?: Record<string, string>;
}

export type VendorHandler = (request: VendorRequest) => VendorAnswer;

/**
 * A local stand-in for a vendor API. Requests go to `/t/<tenant>/<vendor path>`: the tenant
 * prefix keeps the tests of different files apart. Per tenant it records every request and
 * answers valid ones with a queued response (`POST /t/<tenant>/__script`, optionally after a
 * delay) or the handler's own.
 * `GET /t/<tenant>/__requests` returns what was recorded.
 *
 * @example
 * const server = await startMockServer(mixpanelHandler);
 */
export async function startMockServer(
	handler: VendorHandler,
): Promise<{ url: string; server: Server }> {
	const recorded = new Map<string, RecordedRequest[]>();
	const scripts = new Map<string, ScriptedResponse[]>();
	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? "/", "http://local");
		const match = /^\/t\/([^/]+)(\/.*)?$/.exec(url.pathname);
		const send = (
			status: number,
			body?: unknown,
			headers: Record<string, string> = {},
		) => {
			const text =
				body === undefined
					? ""
					: typeof body === "string"
						? body
						: JSON.stringify(body);
			res.writeHead(status, {
				...(text ? { "content-type": "application/json" } : {}),
				...headers,
			});
			res.end(text);
		};
		if (!match?.[1]) return send(404, { error: "no tenant prefix" });
		const tenant = match[1];
		const path = match[2] ?? "/";
		const raw = await readBody(req);
		if (path === "/__requests") return send(200, recorded.get(tenant) ?? []);
		if (path === "/__script") {
			scripts.set(tenant, [
				...(scripts.get(tenant) ?? []),
				...(JSON.parse(raw.toString()) as ScriptedResponse[]),
			]);
			return send(204);
		}
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(req.headers))
			if (typeof value === "string") headers[name] = value;
		const text = (
			headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw
		).toString("utf8");
		let json: unknown;
		try {
			json = JSON.parse(text);
		} catch {
			// Not JSON: the handler reports it as a violation where the vendor needs JSON.
			json = undefined;
		}
		const answer = handler({
			method: req.method ?? "GET",
			path,
			query: url.searchParams,
			headers,
			text,
			json,
		});
		const scripted =
			answer.violations.length === 0 ? scripts.get(tenant)?.shift() : undefined;
		const final = scripted ?? answer;
		const list = recorded.get(tenant) ?? [];
		list.push({
			method: req.method ?? "GET",
			url: `${path}${url.search}`,
			headers,
			body: json ?? text,
			violations: answer.violations,
			status: final.status,
			receivedAt: Date.now(),
		});
		recorded.set(tenant, list);
		if (scripted?.delayMs)
			await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
		send(final.status, final.body, final.headers);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	if (typeof address !== "object" || address === null)
		throw new Error("mock server has no port");
	return { url: `http://127.0.0.1:${address.port}`, server };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const part of req) chunks.push(part as Buffer);
	return Buffer.concat(chunks);
}

/**
 * The HTTP Basic credentials of a request, or undefined.
 *
 * @example
 * basicCredentials({ authorization: "Basic d2s6" }) // ["wk", ""]
 */
export function basicCredentials(
	headers: Record<string, string>,
): [string, string] | undefined {
	const match = /^Basic (\S+)$/.exec(headers.authorization ?? "");
	if (!match?.[1]) return undefined;
	const decoded = Buffer.from(match[1], "base64").toString("utf8");
	const colon = decoded.indexOf(":");
	return colon === -1
		? undefined
		: [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** Collects violations for a handler: `check(condition, message)` records the message when false. */
export function checker(): {
	violations: string[];
	check: (ok: unknown, message: string) => boolean;
} {
	const violations: string[] = [];
	return {
		violations,
		check(ok, message) {
			if (!ok) violations.push(message);
			return Boolean(ok);
		},
	};
}
