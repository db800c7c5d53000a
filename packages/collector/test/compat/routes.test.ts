import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	basic,
	ORIGIN,
	payloadOf,
	post,
	uniqueId,
	useConfig,
	WEB_KEY,
	waitForStored,
} from "../helpers";

/*
 * The routes, answers and settings documents Segment- and RudderStack-protocol clients rely on
 * (docs/compatibility.md), through the real Worker, its queue consumer and D1.
 */

beforeAll(() => useConfig());

const track = (messageId = uniqueId()) => ({
	type: "track",
	event: "Order Completed",
	anonymousId: "anon_compat",
	messageId,
});

/** Sends a browser's CORS preflight for `method` with `headers` to `path`; expects it let through. */
async function expectPreflightPasses(
	path: string,
	method: string,
	headers: string,
) {
	const response = await exports.default.fetch(
		new Request(`http://collector.test${path}`, {
			method: "OPTIONS",
			headers: {
				origin: ORIGIN,
				"access-control-request-method": method,
				"access-control-request-headers": headers,
			},
		}),
	);
	expect(response.status).toBe(204);
	expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
}

function get(path: string, headers: Record<string, string> = {}) {
	return exports.default.fetch(
		new Request(`http://collector.test${path}`, { headers }),
	);
}

describe("client paths", () => {
	it.each([
		["/v1/t", "track", {}],
		["/v1/p", "page", { name: "Home" }],
		["/v1/i", "identify", { traits: { plan: "pro" } }],
		["/v1/s", "screen", { name: "Cart" }],
		["/v1/g", "group", { groupId: "g1" }],
		["/v1/a", "alias", { previousId: "anon_compat", userId: "u1" }],
	])("stores a call posted to %s as a %s", async (path, type, fields) => {
		const messageId = uniqueId();
		const response = await post(path, {
			type,
			anonymousId: "anon_compat",
			messageId,
			...fields,
			...(type === "track" ? { event: "Clicked" } : {}),
		});
		expect(response.status).toBe(200);
		const [row] = await waitForStored([messageId]);
		expect(row?.type).toBe(type);
	});

	it("takes every route with a trailing slash, and never redirects", async () => {
		const ids = [uniqueId(), uniqueId(), uniqueId()];
		const answers = await Promise.all([
			post("/v1/import/", { batch: [track(ids[0])] }),
			post("/v1/batch/", { batch: [track(ids[1])] }),
			post("/v1/track/", track(ids[2])),
		]);
		expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
		expect(await waitForStored(ids)).toHaveLength(3);
	});

	it("stores a batch posted to /v1/b and to /beacon/v1/batch?writeKey=…", async () => {
		const viaB = uniqueId();
		const viaBeacon = uniqueId();
		expect((await post("/v1/b", { batch: [track(viaB)] })).status).toBe(200);
		const beacon = await post(
			`/beacon/v1/batch?writeKey=${WEB_KEY}`,
			{ batch: [track(viaBeacon)], sentAt: new Date().toISOString() },
			{ writeKey: null, headers: { "content-type": "text/plain" } },
		);
		expect(beacon.status).toBe(200);
		const rows = await waitForStored([viaB, viaBeacon]);
		expect(rows.map((row) => row.source_id)).toEqual(["web", "web"]);
	});

	it("refuses a beacon with an unknown key in the query", async () => {
		const response = await post(
			"/beacon/v1/batch?writeKey=wk_nobody",
			{ batch: [track()] },
			{ writeKey: null },
		);
		expect(response.status).toBe(401);
	});
});

describe("null fields", () => {
	it("treats null as absent: a page with null name and category is stored", async () => {
		const messageId = uniqueId();
		const response = await post("/v1/batch", {
			batch: [
				{
					type: "page",
					messageId,
					userId: null,
					anonymousId: "anon_py",
					name: null,
					category: null,
					context: null,
					properties: null,
				},
			],
			context: { library: { name: "batch-level" } },
		});
		expect(await response.json()).toMatchObject({ accepted: 1, rejected: [] });
		const [row] = await waitForStored([messageId]);
		const stored = row ? payloadOf(row) : undefined;
		expect(stored).not.toHaveProperty("name");
		expect(stored).not.toHaveProperty("category");
		// A null context is an absent one: the batch's context fills it.
		expect(stored?.context.library).toEqual({ name: "batch-level" });
	});

	it("still rejects a track whose required event is null", async () => {
		const response = await post("/v1/track", { ...track(), event: null });
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({
			code: "invalid_event",
			message: "event: is required for track",
		});
	});
});

describe("error answers", () => {
	const cases: [string, () => Promise<Response>, number, string][] = [
		[
			"invalid JSON",
			() => post("/v1/batch", null, { raw: "{" }),
			400,
			"invalid_json",
		],
		[
			"a body that is not an object",
			() => post("/v1/batch", [1]),
			400,
			"invalid_json",
		],
		[
			"invalid UTF-8",
			() =>
				post("/v1/batch", null, { raw: new Uint8Array([0x7b, 0xff, 0x7d]) }),
			400,
			"invalid_body",
		],
		[
			"bad gzip",
			() =>
				post("/v1/batch", null, {
					raw: "not gzip",
					headers: { "content-encoding": "gzip" },
				}),
			400,
			"invalid_body",
		],
		[
			"an unknown Content-Encoding",
			() =>
				post(
					"/v1/batch",
					{ batch: [] },
					{ headers: { "content-encoding": "br" } },
				),
			400,
			"unsupported_encoding",
		],
		[
			"a request over 500 KB",
			() => post("/v1/batch", { batch: [], pad: "x".repeat(513_000) }),
			400,
			"payload_too_large",
		],
		[
			"a single call over 32 KB",
			() => post("/v1/t", { ...track(), pad: "x".repeat(33_000) }),
			400,
			"payload_too_large",
		],
		[
			"batch not an array",
			() => post("/v1/batch", { batch: {} }),
			400,
			"invalid_batch",
		],
		[
			"more than 2,500 events",
			() =>
				post("/v1/batch", { batch: Array.from({ length: 2501 }, () => ({})) }),
			400,
			"batch_too_large",
		],
		[
			"an invalid single call",
			() => post("/v1/t", { type: "track", userId: "u" }),
			400,
			"invalid_event",
		],
		[
			"no write key",
			() => post("/v1/batch", { batch: [] }, { writeKey: null }),
			401,
			"unauthorized",
		],
		[
			"an unknown write key",
			() => post("/v1/batch", { batch: [] }, { writeKey: "wk_nobody" }),
			401,
			"unauthorized",
		],
		[
			"a disallowed origin",
			() =>
				post(
					"/v1/batch",
					{ batch: [] },
					{ headers: { origin: "https://evil.example" } },
				),
			403,
			"origin_not_allowed",
		],
		["an unknown path", () => post("/v1/nope", {}), 404, "not_found"],
		["a GET on an ingest path", () => get("/v1/t"), 404, "not_found"],
	];

	it.each(cases)(
		"answers %s with JSON code and message",
		async (_, send, status, code) => {
			const response = await send();
			expect(response.status).toBe(status);
			expect(response.headers.get("content-type")).toContain(
				"application/json",
			);
			const body = (await response.json()) as Record<string, unknown>;
			expect(body).toEqual({
				success: false,
				error: code,
				code,
				message: expect.any(String),
			});
		},
	);

	it("puts CORS headers on a 404 for an allowed origin, and on none for another", async () => {
		const allowed = await post("/v1/nope", {}, { headers: { origin: ORIGIN } });
		expect(allowed.status).toBe(404);
		expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		const other = await post(
			"/v1/nope",
			{},
			{ headers: { origin: "https://evil.example" } },
		);
		expect(other.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("answers a short path's preflight", async () => {
		await expectPreflightPasses("/v1/t", "POST", "authorization,content-type");
	});
});

describe("GET /v1/projects/:writeKey/settings", () => {
	it("points analytics-next's Segment.io integration back at the collector", async () => {
		const response = await get(`/v1/projects/${WEB_KEY}/settings`, {
			origin: ORIGIN,
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		const settings = (await response.json()) as {
			integrations: Record<string, Record<string, unknown>>;
			metrics: { sampleRate: number };
		};
		expect(Object.keys(settings.integrations)).toEqual(["Segment.io"]);
		expect(settings.integrations["Segment.io"]).toMatchObject({
			apiKey: WEB_KEY,
			apiHost: "collector.test/v1",
			protocol: "http",
		});
		expect(settings.metrics.sampleRate).toBe(0);
	});

	it("answers an unknown key with a JSON 404 a browser can read", async () => {
		const response = await get("/v1/projects/wk_nobody/settings/", {
			origin: ORIGIN,
		});
		expect(response.status).toBe(404);
		expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		expect(await response.json()).toMatchObject({ code: "source_not_found" });
	});
});

describe("GET /sourceConfig", () => {
	it("gives rudder-sdk-js the source, found by its Basic-auth key", async () => {
		const response = await get("/sourceConfig/?p=npm&v=3.34.1&writeKey=x", {
			authorization: basic(WEB_KEY),
		});
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({
			source: {
				id: "web",
				writeKey: WEB_KEY,
				enabled: true,
				config: {},
				destinations: [],
			},
		});
	});

	it("falls back to the writeKey query parameter, and answers 404 for an unknown key", async () => {
		const byQuery = await get(`/sourceConfig?writeKey=${WEB_KEY}`);
		expect(byQuery.status).toBe(200);
		const unknown = await get("/sourceConfig/", {
			authorization: basic("wk_nobody"),
		});
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toMatchObject({ code: "source_not_found" });
		expect((await get("/sourceConfig/")).status).toBe(401);
	});

	it("answers the preflight its Authorization header causes", async () => {
		await expectPreflightPasses("/sourceConfig/?p=npm", "GET", "authorization");
	});
});
