import { beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../src/limits";
import { post, uniqueId, useConfig } from "./helpers";
import { recordedEvents, recordsOf, waitForRecords } from "./helpers/records";

/*
 * Ingest refuses, per event, what storage cannot hold, and its neighbours are stored on the
 * consumer's first attempt. Each case here once got 200 and then failed in D1 or in ULID
 * generation, taking valid events down with it.
 */

beforeAll(() => useConfig());

const track = (extra: Record<string, unknown> = {}) => ({
	type: "track",
	event: "Product Viewed",
	anonymousId: "anon_1",
	messageId: uniqueId(),
	...extra,
});

/** JSON text of `levels` nested objects (`{"a":…}`) or arrays around a 1. */
function nestedJson(levels: number, array = false): string {
	return array
		? `${"[".repeat(levels)}1${"]".repeat(levels)}`
		: `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
}

/**
 * Waits until every event is stored and processed (identity resolved, fanned out). The bound
 * is under the consumer's first retry delay (5 s), so an event found processed was processed
 * on its first delivery.
 */
async function processedOnFirstAttempt(ids: string[]): Promise<void> {
	// The events of record are written at the end of the consumer's work, after fan-out.
	const rows = await waitForRecords(ids, ids.length, 4500);
	expect(rows.map((r) => r.event.messageId).sort()).toEqual([...ids].sort());
}

async function storedCount(messageId: string): Promise<number> {
	return (await recordsOf([messageId])).length;
}

describe("nesting deeper than storage can read", () => {
	it("refuses a 7 KB track call nested 1,200 levels deep, and stores its neighbours on the first attempt", async () => {
		const poisonId = uniqueId("poison");
		const poison = `{"type":"track","event":"Deep","anonymousId":"a","messageId":"${poisonId}","properties":${nestedJson(1200)}}`;
		expect(poison.length).toBeGreaterThan(7000);
		const good = [uniqueId(), uniqueId()];
		const raw = `{"batch":[${JSON.stringify(track({ messageId: good[0] }))},${poison},${JSON.stringify(track({ messageId: good[1] }))}]}`;
		// Good events from another request and another source, sent at the same time.
		const others = Array.from({ length: 8 }, () => uniqueId());
		const [response, ...neighbours] = await Promise.all([
			post("/v1/batch", null, { raw }),
			post("/v1/batch", {
				batch: others.slice(0, 4).map((messageId) => track({ messageId })),
			}),
			post(
				"/v1/batch",
				{ batch: others.slice(4).map((messageId) => track({ messageId })) },
				{ writeKey: "wk_test_no_ip_0" },
			),
		]);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			accepted: 2,
			rejected: [
				{
					index: 1,
					messageId: poisonId,
					error: `properties.a.a.a.…: nests deeper than ${LIMITS.maxDepth} levels`,
				},
			],
		});
		expect(neighbours.map((r) => r.status)).toEqual([200, 200]);
		await processedOnFirstAttempt([...good, ...others]);
		expect(await storedCount(poisonId)).toBe(0);
	});

	it.each([
		["a 3,000-level object", nestedJson(3000)],
		["a 5,000-level array", `{"list":${nestedJson(5000, true)}}`],
		["a 15,000-level array", `{"list":${nestedJson(15_000, true)}}`],
	])(
		"refuses %s and keeps the batch's valid event",
		async (_name, properties) => {
			const goodId = uniqueId();
			const raw = `{"batch":[{"type":"track","event":"Deep","userId":"u","properties":${properties}},${JSON.stringify(track({ messageId: goodId }))}]}`;
			const response = await post("/v1/batch", null, { raw });
			expect(response.status).toBe(200);
			const body = (await response.json()) as {
				accepted: number;
				rejected: { index: number; error: string }[];
			};
			expect(body.accepted).toBe(1);
			expect(body.rejected).toEqual([
				{ index: 0, error: expect.stringContaining("nests deeper than 32") },
			]);
			await processedOnFirstAttempt([goodId]);
		},
	);

	it("refuses only the deep event when a neighbour holds a \\u escape (which makes the parser look for prototype keys)", async () => {
		const goodId = uniqueId();
		const raw = `{"batch":[{"type":"track","event":"Caf\\u00e9","userId":"u","messageId":"${goodId}"},{"type":"track","event":"Deep","userId":"u","properties":${nestedJson(20_000)}}]}`;
		const response = await post("/v1/batch", null, { raw });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({
			accepted: 1,
			rejected: [{ index: 1, error: expect.stringContaining("nests deeper") }],
		});
		await processedOnFirstAttempt([goodId]);
	});

	it("answers a single call nested too deep with 400 and the reason", async () => {
		const raw = `{"event":"Deep","userId":"u","properties":${nestedJson(1200)}}`;
		const response = await post("/v1/track", null, { raw });
		expect(response.status).toBe(400);
		expect(await response.json()).toEqual({
			success: false,
			error: "invalid_event",
			code: "invalid_event",
			message: `properties.a.a.a.…: nests deeper than ${LIMITS.maxDepth} levels`,
		});
	});

	it("refuses a batch context nested too deep in every event, without a 500", async () => {
		const levels = 40_000;
		const deep = nestedJson(levels);
		const raw = `{"context":${deep},"batch":[{"type":"track","event":"A","userId":"u","context":${deep}}]}`;
		const response = await post("/v1/batch", null, { raw });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({
			accepted: 0,
			rejected: [{ index: 0, error: expect.stringContaining("nests deeper") }],
		});
	});
});

describe("text that is not valid Unicode", () => {
	it("refuses a lone surrogate in messageId, which D1 would store under another id, and stores its neighbours", async () => {
		const goodId = uniqueId();
		const badId = `${uniqueId("lone")}\\ud800`;
		const raw = `{"batch":[{"type":"track","event":"A","userId":"u","messageId":"${badId}"},${JSON.stringify(track({ messageId: goodId }))}]}`;
		const response = await post("/v1/batch", null, { raw });
		expect(response.status).toBe(200);
		const body = (await response.json()) as {
			accepted: number;
			rejected: { index: number; messageId: string; error: string }[];
		};
		// Compared in well-formed form: a lone surrogate in a failure report breaks the test runner.
		expect(
			body.rejected.map((r) => ({
				...r,
				messageId: r.messageId.toWellFormed(),
			})),
		).toEqual([
			{
				index: 0,
				messageId: JSON.parse(`"${badId}"`).toWellFormed(),
				error:
					"messageId: contains an unpaired UTF-16 surrogate; text must be valid Unicode",
			},
		]);
		expect(body.accepted).toBe(1);
		await processedOnFirstAttempt([goodId]);
		expect(
			(await recordedEvents()).filter((e) =>
				e.event.messageId.startsWith("lone_"),
			),
		).toEqual([]);
	});

	it("refuses lone surrogates in keys and values anywhere in the event", async () => {
		const raw = `{"batch":[
			{"type":"identify","userId":"u","traits":{"name":"\\udc00x"}},
			{"type":"track","event":"A","userId":"u","properties":{"k\\udbff":1}},
			{"type":"page","anonymousId":"\\ud800","name":"Home"},
			{"type":"track","event":"A","userId":"u","properties":{"ok":"\\ud83d\\ude00"}}
		]}`;
		const response = await post("/v1/batch", null, { raw });
		const body = (await response.json()) as {
			accepted: number;
			rejected: { index: number; error: string }[];
		};
		expect(body.accepted).toBe(1);
		expect(body.rejected.map((r) => [r.index, r.error.split(":")[0]])).toEqual([
			[0, "traits.name"],
			[1, "properties.k\ufffd"],
			[2, "anonymousId"],
		]);
	});
});

describe("timestamps", () => {
	it("answers 200 for a batch with events stamped 1969 and 0000, refusing those and storing the valid one", async () => {
		const goodId = uniqueId();
		const response = await post("/v1/batch", {
			batch: [
				{
					type: "track",
					event: "Old",
					userId: "u",
					timestamp: "1969-12-31T23:59:59Z",
				},
				{
					type: "track",
					event: "Older",
					userId: "u",
					timestamp: "0000-01-01T00:00:00Z",
				},
				track({ messageId: goodId }),
			],
		});
		expect(response.status).toBe(200);
		const range =
			"must be between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z";
		expect(await response.json()).toEqual({
			success: true,
			accepted: 1,
			rejected: [
				{ index: 0, error: `timestamp: ${range}` },
				{ index: 1, error: `timestamp: ${range}` },
			],
		});
		await processedOnFirstAttempt([goodId]);
	});

	it("gives a 4xx or a stored event for every form and skew a client can send, never a 500", async () => {
		const cases: Record<string, unknown>[] = [
			{ timestamp: "2026-11-01T13:00:00+05" },
			{ timestamp: "2026-11-01 08:00:00 +0530" },
			{ originalTimestamp: "0000-01-01T00:00:00+23:59" },
			{ sentAt: "1970-01-01T00:30:00+01:00" },
			{ timestamp: "9999-12-31T23:59:59-23:59" },
			{ timestamp: "2026-02-30T00:00:00Z" },
			{ timestamp: "+275760-09-13T00:00:00.000Z" },
			{ timestamp: "9999-12-31T23:59:59.999Z", sentAt: "1970-01-01T00:00:00Z" },
			{ timestamp: "1970-01-01T00:00:00Z", sentAt: "9999-12-31T23:59:59Z" },
			{ timestamp: "9999-12-31T23:59:59Z" },
		];
		const response = await post("/v1/batch", {
			batch: cases.map((times, i) => ({
				type: "track",
				event: `Times ${i}`,
				userId: uniqueId("times"),
				...times,
			})),
		});
		expect(response.status).toBe(200);
		const body = (await response.json()) as {
			accepted: number;
			rejected: { index: number; error: string }[];
		};
		expect(body.rejected.map((r) => r.index)).toEqual([2, 3, 4, 5, 6]);
		expect(body.accepted).toBe(5);
		const deadline = Date.now() + 4500;
		let rows: { event: string; timestamp: string }[] = [];
		while (rows.length < 5 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 50));
			rows = (await recordedEvents())
				.filter((e) => String(e.event.event).startsWith("Times "))
				.map((e) => ({
					event: String(e.event.event),
					timestamp: e.event.timestamp,
				}))
				.sort((a, b) => (a.event < b.event ? -1 : 1));
		}
		// Each stored timestamp has a four-digit year, so text order is time order.
		expect(rows).toEqual([
			{ event: "Times 0", timestamp: "2026-11-01T08:00:00.000Z" },
			{ event: "Times 1", timestamp: "2026-11-01T02:30:00.000Z" },
			{ event: "Times 7", timestamp: "9999-12-31T23:59:59.999Z" },
			{ event: "Times 8", timestamp: "1970-01-01T00:00:00.000Z" },
			{ event: "Times 9", timestamp: "9999-12-31T23:59:59.000Z" },
		]);
	});
});
