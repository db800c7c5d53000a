import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CRONS } from "../src/cron";
import { app } from "../src/http/app";
import worker from "../src/index";
import {
	basic,
	fixtureEvents,
	ORIGIN,
	payloadOf,
	post,
	TEST_CONFIG,
	uniqueId,
	useConfig,
	WEB_KEY,
	waitForStored,
} from "./helpers";
import { recordsOf } from "./helpers/records";

beforeAll(() => useConfig());

const track = (extra: Record<string, unknown> = {}) => ({
	type: "track",
	event: "Product Viewed",
	anonymousId: "anon_1",
	messageId: uniqueId(),
	...extra,
});

describe("routes", () => {
	it("accepts a batch and stores every event once", async () => {
		const batch = fixtureEvents
			.slice(0, 20)
			.map((event) => ({ ...event, messageId: uniqueId() }));
		const response = await post("/v1/batch", { batch });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			accepted: 20,
			rejected: [],
		});
		const ids = batch.map((event) => event.messageId as string);
		const rows = await waitForStored(ids);
		expect(rows.map((row) => row.message_id).sort()).toEqual([...ids].sort());
		expect(rows.every((row) => row.source_id === "web")).toBe(true);
	});

	it("treats /v1/import like /v1/batch", async () => {
		const messageId = uniqueId();
		const response = await post("/v1/import", {
			batch: [track({ messageId })],
		});
		expect(await response.json()).toEqual({
			success: true,
			accepted: 1,
			rejected: [],
		});
		expect(await waitForStored([messageId])).toHaveLength(1);
	});

	it.each([
		["track", { event: "Signed Up" }],
		["identify", { traits: { email: "a@example.com" } }],
		["page", { name: "Home" }],
		["screen", { name: "Settings" }],
		["group", { groupId: "org_1", traits: { plan: "team" } }],
		["alias", { previousId: "anon_9", userId: "user_9" }],
	])(
		"accepts a single %s call, the route setting its type",
		async (type, fields) => {
			const messageId = uniqueId();
			const response = await post(`/v1/${type}`, {
				userId: "user_1",
				messageId,
				...fields,
			});
			expect(response.status).toBe(200);
			expect(await response.json()).toMatchObject({
				success: true,
				accepted: 1,
			});
			const [row] = await waitForStored([messageId]);
			expect(row?.type).toBe(type);
		},
	);

	it("rejects an invalid single call with 400 and the reason", async () => {
		const response = await post("/v1/track", { userId: "u1" });
		expect(response.status).toBe(400);
		expect(await response.json()).toEqual({
			success: false,
			error: "invalid_event",
			code: "invalid_event",
			message: "event: is required for track",
		});
	});

	it("answers unknown routes with a JSON 404", async () => {
		const response = await post("/v1/nope", {});
		expect(response.status).toBe(404);
		expect(await response.json()).toMatchObject({
			success: false,
			error: "not_found",
		});
	});
});

describe("authentication", () => {
	it("accepts the write key as the Basic username, with or without the colon", async () => {
		const first = uniqueId();
		const second = uniqueId();
		const withColon = await post("/v1/track", track({ messageId: first }), {
			writeKey: null,
			headers: { authorization: basic(WEB_KEY) },
		});
		const withoutColon = await post("/v1/track", track({ messageId: second }), {
			writeKey: null,
			headers: { authorization: `Basic ${btoa(WEB_KEY)}` },
		});
		expect([withColon.status, withoutColon.status]).toEqual([200, 200]);
		expect(await waitForStored([first, second])).toHaveLength(2);
	});

	it("accepts the write key in the body, as sendBeacon sends it, and never stores it", async () => {
		const messageId = uniqueId();
		const response = await post(
			"/v1/batch",
			{ writeKey: WEB_KEY, batch: [track({ messageId, writeKey: WEB_KEY })] },
			{ writeKey: null },
		);
		expect(response.status).toBe(200);
		const [row] = await waitForStored([messageId]);
		expect(row?.payload).not.toContain(WEB_KEY);
	});

	it.each([
		["no key at all", null, {}],
		["an unknown key", "wk_unknown_key_1", {}],
		["a disabled source's key", "wk_test_disabled", {}],
		["a malformed Basic header", null, { authorization: "Basic %%%" }],
	])("answers 401 for %s", async (_name, writeKey, headers) => {
		const response = await post(
			"/v1/batch",
			{ batch: [track()] },
			{ writeKey, headers },
		);
		expect(response.status).toBe(401);
		expect(await response.json()).toMatchObject({
			success: false,
			error: "unauthorized",
		});
	});
});

describe("CORS", () => {
	const preflight = (origin: string) =>
		exports.default.fetch(
			new Request("http://collector.test/v1/batch", {
				method: "OPTIONS",
				headers: {
					origin,
					"access-control-request-method": "POST",
					"access-control-request-headers": "content-type",
				},
			}),
		);

	it("answers a preflight from an allowed origin", async () => {
		const response = await preflight(ORIGIN);
		expect(response.status).toBe(204);
		expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		expect(response.headers.get("access-control-allow-methods")).toContain(
			"POST",
		);
		expect(response.headers.get("access-control-allow-headers")).toBe(
			"content-type",
		);
	});

	it("refuses a preflight from an unknown origin with 403 and no CORS headers", async () => {
		const response = await preflight("https://evil.example");
		expect(response.status).toBe(403);
		expect(response.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("adds CORS headers for an allowed origin", async () => {
		const response = await post(
			"/v1/batch",
			{ batch: [track()] },
			{ headers: { origin: ORIGIN, "content-type": "text/plain" } },
		);
		expect(response.status).toBe(200);
		expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
	});

	it("refuses an origin the source does not allow with 403 and no CORS headers", async () => {
		const messageId = uniqueId();
		const response = await post(
			"/v1/batch",
			{ batch: [track({ messageId })] },
			{ headers: { origin: "https://other.example" } },
		);
		expect(response.status).toBe(403);
		expect(response.headers.get("access-control-allow-origin")).toBeNull();
		expect(await response.json()).toMatchObject({
			error: "origin_not_allowed",
		});
	});

	it("lets '*' admit any origin, in preflights too", async () => {
		const open = {
			...TEST_CONFIG,
			sources: TEST_CONFIG.sources.map((s) =>
				s.id === "full-ip" ? { ...s, allowedOrigins: ["*"] } : s,
			),
		};
		await useConfig(open);
		try {
			expect((await preflight("https://any.example")).status).toBe(204);
			const response = await post(
				"/v1/batch",
				{ batch: [track()] },
				{
					writeKey: "wk_test_full_ip",
					headers: { origin: "https://any.example" },
				},
			);
			expect(response.status).toBe(200);
			expect(response.headers.get("access-control-allow-origin")).toBe(
				"https://any.example",
			);
		} finally {
			await useConfig();
		}
	});

	it("keeps CORS headers on errors after authentication, so the page can read them", async () => {
		const response = await post(
			"/v1/track",
			{ userId: "u" },
			{ headers: { origin: ORIGIN } },
		);
		expect(response.status).toBe(400);
		expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
	});
});

describe("CORS on early errors", () => {
	it("lets an allowed page read errors raised before its source is known", async () => {
		const unknownKey = await post(
			"/v1/batch",
			{ batch: [track()] },
			{ writeKey: "wk_unknown_key_1", headers: { origin: ORIGIN } },
		);
		expect(unknownKey.status).toBe(401);
		expect(unknownKey.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		const badJson = await post("/v1/batch", null, {
			raw: "{",
			headers: { origin: ORIGIN, "content-type": "text/plain" },
		});
		expect(badJson.status).toBe(400);
		expect(badJson.headers.get("access-control-allow-origin")).toBe(ORIGIN);
		const tooLarge = await post(
			"/v1/track",
			track({ properties: { big: "x".repeat(33_000) } }),
			{ headers: { origin: ORIGIN } },
		);
		expect(tooLarge.status).toBe(400);
		expect(tooLarge.headers.get("access-control-allow-origin")).toBe(ORIGIN);
	});

	it("gives no CORS headers to an origin no source allows, even on early errors", async () => {
		const response = await post(
			"/v1/batch",
			{ batch: [track()] },
			{
				writeKey: "wk_unknown_key_1",
				headers: { origin: "https://evil.example" },
			},
		);
		expect(response.status).toBe(401);
		expect(response.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("exposes Retry-After to the page", async () => {
		const response = await post(
			"/v1/batch",
			{ batch: [track()] },
			{ headers: { origin: ORIGIN } },
		);
		expect(response.headers.get("access-control-expose-headers")).toBe(
			"Retry-After",
		);
	});
});

describe("bodies and limits", () => {
	it("accepts text/plain bodies (no CORS preflight from browsers)", async () => {
		const messageId = uniqueId();
		const response = await post(
			"/v1/batch",
			{ batch: [track({ messageId })] },
			{ headers: { "content-type": "text/plain;charset=UTF-8" } },
		);
		expect(response.status).toBe(200);
		expect(await waitForStored([messageId])).toHaveLength(1);
	});

	it("accepts gzip bodies", async () => {
		const batch = fixtureEvents
			.slice(20, 120)
			.map((event) => ({ ...event, messageId: uniqueId() }));
		const response = await post("/v1/batch", { batch }, { gzip: true });
		expect(await response.json()).toEqual({
			success: true,
			accepted: 100,
			rejected: [],
		});
		expect(
			await waitForStored(batch.map((event) => event.messageId as string)),
		).toHaveLength(100);
	});

	it("answers 400 for a body that is not gzip although it says so", async () => {
		const response = await post("/v1/batch", null, {
			raw: "not gzip at all",
			headers: { "content-encoding": "gzip" },
		});
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ error: "invalid_body" });
	});

	it("answers 400 for a body that is not UTF-8", async () => {
		const response = await post("/v1/batch", null, {
			raw: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
		});
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ error: "invalid_body" });
	});

	it("reads the body as JSON whatever its Content-Type, and refuses unknown encodings with 400", async () => {
		for (const type of [
			"application/xml",
			"application/x-www-form-urlencoded",
		]) {
			const messageId = uniqueId();
			const response = await post(
				"/v1/batch",
				{ batch: [track({ messageId })] },
				{ headers: { "content-type": type } },
			);
			expect(response.status).toBe(200);
			expect(await waitForStored([messageId])).toHaveLength(1);
		}
		const notJson = await post("/v1/batch", null, {
			raw: "<batch/>",
			headers: { "content-type": "application/xml" },
		});
		expect(notJson.status).toBe(400);
		expect(await notJson.json()).toMatchObject({ code: "invalid_json" });
		const brotli = await post(
			"/v1/batch",
			{ batch: [] },
			{ headers: { "content-encoding": "br" } },
		);
		expect(brotli.status).toBe(400);
		expect(await brotli.json()).toMatchObject({ code: "unsupported_encoding" });
	});

	it("answers 400 for malformed JSON and for a body that is not an object", async () => {
		const malformed = await post("/v1/batch", null, { raw: '{"batch": [' });
		expect(malformed.status).toBe(400);
		expect(await malformed.json()).toMatchObject({
			success: false,
			error: "invalid_json",
		});
		expect((await post("/v1/batch", [1, 2])).status).toBe(400);
		expect((await post("/v1/batch", { batch: "nope" })).status).toBe(400);
	});

	it("answers 400 payload_too_large for a request over 500 KB, as Segment does", async () => {
		const big = "x".repeat(30_000);
		const batch = Array.from({ length: 18 }, () =>
			track({ properties: { big } }),
		);
		const response = await post("/v1/batch", { batch });
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({
			success: false,
			error: "payload_too_large",
			code: "payload_too_large",
		});
	});

	it("counts the 500 KB after decompression: a small gzip bomb is cut off with 400", async () => {
		const response = await post("/v1/batch", null, {
			raw: JSON.stringify({
				batch: [track({ properties: { pad: "a".repeat(600_000) } })],
			}),
			gzip: true,
		});
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ code: "payload_too_large" });
	});

	it("answers 400 payload_too_large for a single call over 32 KB", async () => {
		const response = await post(
			"/v1/track",
			track({ properties: { big: "x".repeat(33_000) } }),
		);
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ code: "payload_too_large" });
	});

	it("rejects an event over 32 KB inside a batch, accepting the others", async () => {
		const small = uniqueId();
		const large = uniqueId();
		const response = await post("/v1/batch", {
			batch: [
				track({ messageId: small }),
				track({ messageId: large, properties: { big: "y".repeat(33_000) } }),
			],
		});
		const body = (await response.json()) as {
			accepted: number;
			rejected: { index: number; messageId: string; error: string }[];
		};
		expect(body.accepted).toBe(1);
		expect(body.rejected).toEqual([
			{
				index: 1,
				messageId: large,
				error: expect.stringContaining("the limit is 32768"),
			},
		]);
	});

	it("answers 400 for a batch of more than 2,500 events", async () => {
		const batch = Array.from({ length: 2501 }, () => ({
			type: "track",
			event: "x",
			userId: "u",
		}));
		const response = await post("/v1/batch", { batch });
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ error: "batch_too_large" });
	});
});

describe("per-event acceptance", () => {
	it("accepts the valid events of a batch and lists the rejected ones with their reasons", async () => {
		const good = uniqueId();
		const batch = [
			track({ messageId: good }),
			{ type: "track", anonymousId: "a", messageId: "no-event" },
			{ type: "teleport", userId: "u" },
			{ type: "identify", messageId: "x".repeat(101), userId: "u" },
			"not an object",
		];
		const response = await post("/v1/batch", { batch });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			accepted: 1,
			rejected: [
				{
					index: 1,
					messageId: "no-event",
					error: "event: is required for track",
				},
				{
					index: 2,
					error:
						"type: must be one of track, identify, page, screen, group, alias",
				},
				{
					index: 3,
					messageId: "x".repeat(101),
					error: "messageId: must be at most 100 characters",
				},
				{ index: 4, error: "an event must be a JSON object" },
			],
		});
		expect(await waitForStored([good])).toHaveLength(1);
	});

	it("merges the batch's context and integrations into each event, the event's own values winning", async () => {
		const messageId = uniqueId();
		await post("/v1/batch", {
			context: { app: { name: "shop", version: "1.0" }, locale: "de-DE" },
			integrations: { All: false, webhook: true },
			batch: [
				track({
					messageId,
					context: { app: { version: "2.0" } },
					integrations: { webhook: false },
				}),
			],
		});
		const [row] = await waitForStored([messageId]);
		const event = payloadOf(row as never);
		expect(event.context.app).toEqual({ name: "shop", version: "2.0" });
		expect(event.context.locale).toBe("de-DE");
		expect(event.integrations).toEqual({ All: false, webhook: false });
	});

	it("lets no key pollute a prototype", async () => {
		const messageId = uniqueId();
		const raw = `{"batch":[{"type":"track","event":"x","userId":"u","messageId":"${messageId}","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"properties":{"__proto__":{"polluted":1},"ok":1},"context":{"location":{"__proto__":{"polluted":1}}}}],"context":{"__proto__":{"polluted":1}}}`;
		const response = await post("/v1/batch", null, { raw });
		expect(response.status).toBe(200);
		const [row] = await waitForStored([messageId]);
		const event = payloadOf(row as never);
		expect(event.properties).toEqual({ ok: 1 });
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		expect(Object.getPrototypeOf(event.properties)).toBe(Object.prototype);
	});
});

describe("rate limiting", () => {
	it("answers 429 with Retry-After once a source is over its limit", async () => {
		const statuses: number[] = [];
		let limited: Response | undefined;
		// The test binding allows 5 requests a minute; the loop is bounded.
		for (let i = 0; i < 8 && !limited; i++) {
			const response = await post("/v1/track", track(), {
				writeKey: "wk_test_limited",
			});
			statuses.push(response.status);
			if (response.status === 429) limited = response;
		}
		expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
		expect(limited?.headers.get("retry-after")).toBe(
			env.RATE_LIMIT_PERIOD_SECONDS,
		);
		expect(await limited?.json()).toMatchObject({
			success: false,
			error: "rate_limited",
		});
	});
});

describe("durability", () => {
	const failingQueue = {
		send: () => Promise.reject(new Error("queue unavailable")),
		sendBatch: () => Promise.reject(new Error("queue unavailable")),
	} as unknown as Queue;
	const batchRequest = (messageId: string) =>
		new Request("http://collector.test/v1/batch", {
			method: "POST",
			headers: {
				authorization: basic(WEB_KEY),
				"content-type": "application/json",
			},
			body: JSON.stringify({ batch: [track({ messageId })] }),
		});

	it("keeps the events in D1 and answers 200 when the queue refuses them; the drain delivers them", async () => {
		const messageId = uniqueId();
		const response = await app.fetch(batchRequest(messageId), {
			...env,
			EVENTS: failingQueue,
		});
		expect(response.status).toBe(200);
		const spooled = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM ingest_spool WHERE body LIKE ?1",
		)
			.bind(`%${messageId}%`)
			.first<{ n: number }>();
		expect(spooled?.n).toBe(1);

		await worker.scheduled(
			createScheduledController({ cron: CRONS.drainSpool }),
			env,
		);
		expect(await waitForStored([messageId])).toHaveLength(1);
		const left = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM ingest_spool WHERE body LIKE ?1",
		)
			.bind(`%${messageId}%`)
			.first<{ n: number }>();
		expect(left?.n).toBe(0);
	});

	it("answers 503 with Retry-After, not 200, when neither the queue nor D1 keeps the events", async () => {
		const response = await app.fetch(batchRequest(uniqueId()), {
			...env,
			EVENTS: failingQueue,
			DB: env.UNMIGRATED_DB,
		});
		expect(response.status).toBe(503);
		expect(response.headers.get("retry-after")).toBe("10");
		expect(await response.json()).toMatchObject({
			success: false,
			error: "unavailable",
		});
	});

	it("answers 503 when the config cannot be read", async () => {
		const brokenKv = {
			get: () => Promise.reject(new Error("KV down")),
		} as unknown as KVNamespace;
		const { clearConfigCache } = await import("../src/config/load");
		clearConfigCache();
		const response = await app.fetch(
			new Request("http://collector.test/v1/batch", {
				method: "POST",
				headers: { authorization: basic(WEB_KEY) },
				body: JSON.stringify({ batch: [track()] }),
			}),
			{ ...env, CONFIG: brokenKv },
		);
		expect(response.status).toBe(503);
		expect(response.headers.get("retry-after")).toBeTruthy();
	});
});

describe("deduplication", () => {
	it("stores an event sent on two concurrent requests once", async () => {
		const messageId = uniqueId();
		const body = { batch: [track({ messageId })] };
		const responses = await Promise.all([
			post("/v1/batch", body),
			post("/v1/batch", body),
			post("/v1/batch", body),
		]);
		expect(responses.map((response) => response.status)).toEqual([
			200, 200, 200,
		]);
		const rows = await waitForStored([messageId], 1);
		expect(rows).toHaveLength(1);
		// The copies pass through the consumer in their own batches: for two seconds after the
		// first is stored, it stays the only one.
		const until = Date.now() + 2000;
		while (Date.now() < until) {
			expect(await recordsOf([messageId])).toHaveLength(1);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	});
});
