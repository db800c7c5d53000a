import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	payloadOf,
	type StoredRow,
	uniqueId,
	useConfig,
	WEB_KEY,
	waitForStored,
} from "../helpers";

/*
 * Requests replayed exactly as the clients npm does not carry build them: path, headers,
 * encoding, body and framing, each cited to the client's source file. Each test checks the
 * answer the client reads and finds the events in D1. The real npm libraries
 * (analytics-next, analytics-node, rudder-sdk-js, rudder-sdk-node) run in test/clients.test.ts.
 */

beforeAll(() => useConfig());

const HOST = "http://collector.test";
const basicAuth = (key: string) => `Basic ${btoa(`${key}:`)}`;

/** POSTs `body` to `path` with exactly `headers`, as the client would. */
function replay(
	path: string,
	headers: Record<string, string>,
	body: BodyInit,
): Promise<Response> {
	return exports.default.fetch(
		new Request(`${HOST}${path}`, {
			method: "POST",
			headers,
			body,
			// A streamed body goes out chunked (no Content-Length); fetch wants duplex for it.
			...(body instanceof ReadableStream ? { duplex: "half" } : {}),
		}),
	);
}

async function gzip(text: string): Promise<ArrayBuffer> {
	return new Response(
		new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
	).arrayBuffer();
}

/** A body sent without Content-Length (Transfer-Encoding: chunked), in pieces of `size` bytes. */
function chunked(bytes: Uint8Array, size = 1024): ReadableStream<Uint8Array> {
	let offset = 0;
	return new ReadableStream({
		pull(controller) {
			if (offset >= bytes.length) return controller.close();
			controller.enqueue(bytes.slice(offset, offset + size));
			offset += size;
		},
	});
}

async function stored(ids: string[]): Promise<Map<string, StoredRow>> {
	const rows = await waitForStored(ids);
	expect(rows).toHaveLength(ids.length);
	return new Map(rows.map((row) => [row.message_id, row]));
}

describe("analytics-python 2.x", () => {
	// segmentio/analytics-python segment/analytics/request.py `post()`: POST <host>/v1/batch,
	// Content-Type application/json, User-Agent analytics-python/<v>, Basic auth, the body
	// {batch, sentAt (isoformat with microseconds), writeKey}. client.py `page()` puts
	// `name: None, category: None` and `userId: None` in the message; `_enqueue()` writes
	// timestamp with timespec=milliseconds and context.library.
	it("stores page() with null name and category, and a track, from one batch", async () => {
		const [pageId, trackId] = [uniqueId("py"), uniqueId("py")];
		const context = { library: { name: "analytics-python", version: "2.3.4" } };
		const body = {
			batch: [
				{
					integrations: {},
					anonymousId: "anon-py",
					properties: {},
					timestamp: "2026-12-01T13:19:37.123+00:00",
					category: null,
					context,
					userId: null,
					type: "page",
					name: null,
					messageId: pageId,
				},
				{
					integrations: {},
					anonymousId: null,
					properties: { revenue: 9.5 },
					timestamp: "2026-12-01T13:19:37.124+00:00",
					context,
					userId: "user-py",
					type: "track",
					event: "Order Completed",
					messageId: trackId,
				},
			],
			sentAt: "2026-12-01T13:19:38.456789+00:00",
			writeKey: WEB_KEY,
		};
		const response = await replay(
			`/v1/batch`,
			{
				"Content-Type": "application/json",
				"User-Agent": "analytics-python/2.3.4",
				Authorization: basicAuth(WEB_KEY),
			},
			JSON.stringify(body),
		);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ accepted: 2, rejected: [] });
		const rows = await stored([pageId, trackId]);
		expect(rows.get(pageId)?.type).toBe("page");
		expect(rows.get(trackId)?.type).toBe("track");
	});

	// request.py raises APIError(status, payload["code"], payload["message"]) on any non-2xx:
	// a body without `code` makes it a KeyError and the consumer retries a permanent error.
	it("gets code and message on a refusal", async () => {
		const response = await replay(
			`/v1/batch`,
			{
				"Content-Type": "application/json",
				Authorization: basicAuth("wk_revoked"),
			},
			JSON.stringify({ batch: [], writeKey: "wk_revoked" }),
		);
		expect(response.status).toBe(401);
		const payload = (await response.json()) as Record<string, unknown>;
		expect(typeof payload.code).toBe("string");
		expect(typeof payload.message).toBe("string");
	});

	// request.py with gzip=True: Content-Encoding gzip over the same JSON.
	it("stores a gzip batch", async () => {
		const id = uniqueId("py");
		const body = JSON.stringify({
			batch: [
				{ type: "identify", userId: "user-py", traits: {}, messageId: id },
			],
			sentAt: "2026-12-01T13:19:38.456789+00:00",
			writeKey: WEB_KEY,
		});
		const response = await replay(
			`/v1/batch`,
			{
				"Content-Type": "application/json",
				"Content-Encoding": "gzip",
				Authorization: basicAuth(WEB_KEY),
			},
			await gzip(body),
		);
		expect(response.status).toBe(200);
		await stored([id]);
	});
});

describe("analytics-go 3.x", () => {
	// segmentio/analytics-go analytics.go `send()`/`upload()`: POST <Endpoint>/v1/batch,
	// User-Agent "analytics-go (version: 3.x)", Content-Type application/json, SetBasicAuth(key,
	// ""), the body json.Marshal(batch{MessageId, SentAt, Messages, Context}); times marshal as
	// RFC 3339 with nanoseconds. `report()` counts < 300 as success and retries the rest ten times.
	it("stores a batch with a batch-level messageId, nanosecond times and context", async () => {
		const id = uniqueId("go");
		const body = {
			messageId: "batch-go-1",
			sentAt: "2026-12-01T13:19:38.123456789Z",
			batch: [
				{
					type: "track",
					messageId: id,
					userId: "user-go",
					event: "Download",
					timestamp: "2026-12-01T14:19:38.000000001+01:00",
					properties: { application: "Segment Desktop" },
				},
			],
			context: { library: { name: "analytics-go", version: "3.3.0" } },
		};
		const response = await replay(
			`/v1/batch`,
			{
				"User-Agent": "analytics-go (version: 3.3.0)",
				"Content-Type": "application/json",
				Authorization: basicAuth(WEB_KEY),
			},
			JSON.stringify(body),
		);
		expect(response.status).toBe(200);
		const row = (await stored([id])).get(id);
		const event = row ? payloadOf(row) : undefined;
		expect(event?.context.library).toEqual(body.context.library);
		// Read as the instant it names (timestamp itself is corrected for clock skew by sentAt).
		expect(Date.parse(String(event?.originalTimestamp))).toBe(
			Date.parse("2026-12-01T13:19:38.000Z"),
		);
	});
});

describe("analytics-ruby 2.x", () => {
	// segmentio/analytics-ruby lib/segment/analytics/transport.rb `send_request()`: POST PATH
	// (defaults.rb: /v1/import) with Accept and Content-Type application/json and basic_auth
	// (write_key, nil); the body {sentAt (%6N microseconds), batch}. field_parser.rb builds each
	// message (context.library, messageId, timestamp, name "" for a page without one).
	it("stores a batch posted to /v1/import", async () => {
		const [pageId, groupId] = [uniqueId("rb"), uniqueId("rb")];
		const context = { library: { name: "analytics-ruby", version: "2.5.0" } };
		const body = {
			sentAt: "2026-12-01T13:19:38.123456+00:00",
			batch: [
				{
					context,
					messageId: pageId,
					timestamp: "2026-12-01T13:19:37.123+00:00",
					userId: "user-rb",
					type: "page",
					name: "",
					properties: {},
				},
				{
					context,
					messageId: groupId,
					timestamp: "2026-12-01T13:19:37.124+00:00",
					anonymousId: "anon-rb",
					type: "group",
					groupId: "acme",
					traits: { plan: "team" },
				},
			],
		};
		const response = await replay(
			`/v1/import`,
			{
				Accept: "application/json",
				"Content-Type": "application/json",
				Authorization: basicAuth(WEB_KEY),
			},
			JSON.stringify(body),
		);
		expect(response.status).toBe(200);
		await stored([pageId, groupId]);
	});
});

describe("analytics-java 3.x", () => {
	// segmentio/analytics-java analytics/.../internal/http/SegmentService.java: the batch goes to
	// <endpoint>/v1/import/ (3.x, trailing slash), Basic auth from Credentials.basic(writeKey,
	// ""), Gson's application/json; charset=UTF-8; internal/Batch.java: {batch, sentAt,
	// context, sequence} with dates in ISO 8601 milliseconds.
	it("stores a batch posted to /v1/import/ with the trailing slash", async () => {
		const id = uniqueId("java");
		const body = {
			batch: [
				{
					type: "screen",
					messageId: id,
					userId: "user-java",
					name: "Checkout",
					properties: {},
					timestamp: "2026-12-01T13:19:37.123Z",
					sentAt: null,
					context: { library: { name: "analytics-java", version: "3.5.1" } },
					integrations: {},
				},
			],
			sentAt: "2026-12-01T13:19:38.123Z",
			context: { library: { name: "analytics-java", version: "3.5.1" } },
			sequence: 0,
		};
		const response = await replay(
			`/v1/import/`,
			{
				"Content-Type": "application/json; charset=UTF-8",
				"User-Agent": "analytics-java/3.5.1",
				Authorization: basicAuth(WEB_KEY),
			},
			JSON.stringify(body),
		);
		expect(response.status).toBe(200);
		await stored([id]);
	});
});

describe("mobile libraries", () => {
	const batchOf = (library: string, ids: string[]) =>
		JSON.stringify({
			batch: ids.map((messageId, index) => ({
				type: index === 0 ? "screen" : "track",
				...(index === 0 ? { name: "Home" } : { event: "Item Added" }),
				messageId,
				anonymousId: `anon-${library}`,
				timestamp: "2026-12-01T13:19:37.123Z",
				context: { library: { name: library, version: "1.0.0" } },
				integrations: {},
				properties: {},
			})),
			sentAt: "2026-12-01T13:19:38.000Z",
			writeKey: WEB_KEY,
		});

	// segmentio/analytics-swift Sources/Segment/Utilities/Networking/HTTPClient.swift
	// `startBatchUpload()`: POST https://<apiHost>/b, configuredRequest's Content-Type
	// application/json; charset=utf-8, User-Agent analytics-ios/<v>, Accept-Encoding gzip, no
	// Authorization: the batch file carries writeKey. `handleResponse()` treats 1..<300 as sent.
	it("analytics-swift: /v1/b, key in the body", async () => {
		const ids = [uniqueId("swift"), uniqueId("swift")];
		const response = await replay(
			`/v1/b`,
			{
				"Content-Type": "application/json; charset=utf-8",
				"User-Agent": "analytics-ios/1.7.0",
				"Accept-Encoding": "gzip",
			},
			batchOf("analytics-swift", ids),
		);
		expect(response.status).toBe(200);
		await stored(ids);
	});

	// segmentio/analytics-kotlin core/.../HTTPClient.kt: RequestFactory.upload() opens
	// https://<apiHost>/b with Content-Type text/plain and setChunkedStreamingMode(0);
	// createPostConnection() adds Content-Encoding gzip and writes through a GZIPOutputStream.
	it("analytics-kotlin: /v1/b, text/plain, gzip, chunked", async () => {
		const ids = [uniqueId("kotlin"), uniqueId("kotlin")];
		const body = new Uint8Array(await gzip(batchOf("analytics-kotlin", ids)));
		const response = await replay(
			`/v1/b`,
			{
				"Content-Type": "text/plain",
				"Content-Encoding": "gzip",
				"User-Agent": "analytics-kotlin/1.19.0",
			},
			chunked(body, 64),
		);
		expect(response.status).toBe(200);
		await stored(ids);
	});

	// segmentio/analytics-react-native packages/core/src/api.ts `uploadEvents()`: fetch(url) with
	// url <apiHost>/b, Content-Type text/plain, body {batch, sentAt, writeKey}.
	it("analytics-react-native: /v1/b, text/plain", async () => {
		const ids = [uniqueId("rn"), uniqueId("rn")];
		const response = await replay(
			`/v1/b`,
			{ "Content-Type": "text/plain" },
			batchOf("analytics-react-native", ids),
		);
		expect(response.status).toBe(200);
		await stored(ids);
	});

	// All three read https://<cdnHost>/projects/<writeKey>/settings (Swift's HTTPClient
	// `settingsFor()`, Kotlin's RequestFactory.settings()) and let its Segment.io apiHost
	// override theirs: with cdnHost "<collector>/v1" the settings name the collector again.
	it("settings from cdnHost <collector>/v1 point apiHost back at the collector", async () => {
		const response = await exports.default.fetch(
			new Request(`${HOST}/v1/projects/${WEB_KEY}/settings`, {
				headers: { "Content-Type": "application/json; charset=utf-8" },
			}),
		);
		expect(response.status).toBe(200);
		const settings = (await response.json()) as {
			integrations: { "Segment.io": { apiHost: string } };
		};
		expect(settings.integrations["Segment.io"].apiHost).toBe(
			"collector.test/v1",
		);
	});
});
