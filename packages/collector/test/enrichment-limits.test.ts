import { env } from "cloudflare:workers";
import { MAX_EVENT_BYTES } from "@conduit/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import { LIMITS } from "../src/limits";
import {
	basic,
	ORIGIN,
	payloadOf,
	uniqueId,
	useConfig,
	WEB_KEY,
	waitForStored,
} from "./helpers";

/*
 * What enrichment adds is bounded, so an accepted event always fits a queue message, and the
 * fields the collector owns never carry a client's value.
 */

beforeAll(() => useConfig());

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).byteLength;

/** A queue that records what it is sent and passes it on to the real EVENTS queue. */
function recordingQueue(sent: string[]): Queue {
	return {
		send: (body: string, options?: QueueSendOptions) => {
			sent.push(body);
			return env.EVENTS.send(body, options);
		},
		sendBatch: () => Promise.reject(new Error("ingest sends one by one")),
	} as unknown as Queue;
}

/** Sends through the app with the given headers; returns the response and the queue messages. */
async function send(
	body: unknown,
	headers: Record<string, string>,
	cf?: Record<string, unknown>,
) {
	const sent: string[] = [];
	const response = await app.fetch(
		new Request("http://collector.test/v1/batch", {
			method: "POST",
			headers: {
				authorization: basic(WEB_KEY),
				"content-type": "text/plain",
				...headers,
			},
			body: JSON.stringify(body),
			cf,
		} as RequestInit),
		{ ...env, EVENTS: recordingQueue(sent) },
	);
	return { response, sent };
}

/** A 40 KB User-Agent header (header values are ASCII in practice; the runtime warns otherwise). */
const HUGE_USER_AGENT = `Mozilla/5.0 (X11; Linux x86_64) ${"AppleWebKit/537.36 ".repeat(2_100)}`;

describe("size after enrichment", () => {
	it("keeps a 31.9 KB page event with a long utm_source and a 40 KB User-Agent within one event's bound", async () => {
		const messageId = uniqueId();
		const utm = "€".repeat(5_000);
		const event = {
			type: "page",
			anonymousId: "anon_big",
			messageId,
			name: "Landing",
			context: {
				page: {
					url: `https://shop.example.com/?utm_source=${utm}&utm_medium=cpc`,
					search: `?utm_source=${utm}&utm_medium=cpc`,
					referrer: "https://www.google.com/",
				},
			},
			properties: { note: "x".repeat(1_500) },
		};
		const clientBytes = bytes(JSON.stringify(event));
		expect(clientBytes).toBeGreaterThan(31_500);
		expect(clientBytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);

		const { response, sent } = await send(
			{ batch: [event] },
			{ origin: ORIGIN, "user-agent": HUGE_USER_AGENT },
		);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			accepted: 1,
			rejected: [],
		});
		expect(sent).toHaveLength(1);
		expect(bytes(sent[0] ?? "")).toBeLessThanOrEqual(
			LIMITS.maxQueueMessageBytes,
		);

		const [row] = await waitForStored([messageId]);
		expect(row).toBeDefined();
		expect(bytes(row?.payload ?? "")).toBeLessThanOrEqual(
			LIMITS.maxEnrichedEventBytes,
		);
		const stored = payloadOf(row as never);
		expect(stored.context.userAgent).toBe(
			HUGE_USER_AGENT.slice(0, LIMITS.maxEnrichedStringLength),
		);
		expect(stored.context.campaign).toEqual({
			source: utm.slice(0, LIMITS.maxEnrichedStringLength),
			medium: "cpc",
		});
		expect(stored.context.enrichment).toEqual({
			truncated: ["userAgent", "campaign.source"],
		});
		expect(stored.context.referrer).toEqual({
			type: "search",
			host: "www.google.com",
		});
	});

	it("keeps every EVENTS message under 128 KB in the worst case: 32 KB client events of 3-byte characters plus the largest headers", async () => {
		// Each event is just under 32 KB as sent, all of it in 3-byte characters.
		const title = "€".repeat(10_500);
		const batch = Array.from({ length: 15 }, () => ({
			type: "page",
			anonymousId: "anon_worst",
			messageId: uniqueId("worst"),
			context: {
				page: {
					title,
					url: `https://shop.example.com/?utm_source=${"€".repeat(100)}&utm_campaign=${"€".repeat(100)}`,
				},
			},
		}));
		const cf = {
			country: "€".repeat(5_000),
			city: "€".repeat(5_000),
			region: "€".repeat(5_000),
			timezone: "€".repeat(5_000),
			colo: "€".repeat(5_000),
		};
		const { response, sent } = await send(
			{ batch },
			{ origin: ORIGIN, "user-agent": HUGE_USER_AGENT },
			cf,
		);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ accepted: 15, rejected: [] });
		expect(sent.length).toBeGreaterThan(1);
		for (const message of sent) {
			expect(bytes(message)).toBeLessThanOrEqual(LIMITS.maxQueueMessageBytes);
			for (const line of message.split("\n").slice(1))
				expect(bytes(line)).toBeLessThanOrEqual(LIMITS.maxEnrichedEventBytes);
		}
		const lines = sent.flatMap((message) => message.split("\n").slice(1));
		expect(lines).toHaveLength(15);
		expect(JSON.parse(lines[0] ?? "").context.enrichment.truncated).toEqual([
			"userAgent",
			"location.country",
			"location.region",
			"location.city",
			"location.timezone",
			"location.colo",
		]);
	});
});

describe("the client's own size", () => {
	it.each([
		["a server-owned field", { profileId: "p".repeat(34_000) }],
		["a context.ip that is no IP", { ip: "i".repeat(34_000) }],
		[
			"empty values in an object enrichment completes",
			{
				browser: Object.fromEntries(
					Array.from({ length: 3_000 }, (_, i) => [`key_${i}`, null]),
				),
				userAgent:
					"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
			},
		],
	])(
		"counts the event as sent, even when ingest drops %s",
		async (_name, context) => {
			const messageId = uniqueId();
			const event = {
				type: "track",
				event: "A",
				userId: "u",
				messageId,
				context,
			};
			expect(bytes(JSON.stringify(event))).toBeGreaterThan(MAX_EVENT_BYTES);
			const { response } = await send({ batch: [event] }, {});
			expect(await response.json()).toMatchObject({
				accepted: 0,
				rejected: [
					{
						index: 0,
						messageId,
						error: expect.stringMatching(
							/^event is \d+ bytes; the limit is 32768$/,
						),
					},
				],
			});
		},
	);
});

describe("fields the collector owns", () => {
	it("never keeps a client's context.profileId, isBot, enrichment note or receivedAt", async () => {
		const messageId = uniqueId();
		const event = {
			type: "identify",
			userId: uniqueId("owner"),
			messageId,
			receivedAt: "2000-01-01T00:00:00.000Z",
			context: {
				profileId: "prof_forged",
				isBot: false,
				enrichment: { truncated: ["forged"] },
				userAgent: "curl/8.5.0",
			},
		};
		const before = Date.now();
		const { response } = await send({ batch: [event] }, {});
		expect(response.status).toBe(200);
		const [row] = await waitForStored([messageId]);
		const stored = payloadOf(row as never);
		expect(stored.context.enrichment).toBeUndefined();
		expect(stored.context.isBot).toBe(true);
		expect(Date.parse(String(stored.receivedAt))).toBeGreaterThanOrEqual(
			before - 1000,
		);
		// Identity resolution gave the event a profile of its own, not the forged one.
		expect(stored.context.profileId).toMatch(/^prof_/);
		expect(stored.context.profileId).not.toBe("prof_forged");
	});

	it("drops a client's server-owned fields sent in the batch's shared context too", async () => {
		const messageId = uniqueId();
		const { response } = await send(
			{
				context: { profileId: "prof_forged", enrichment: { dropped: ["x"] } },
				batch: [{ type: "track", event: "A", userId: "u", messageId }],
			},
			{},
		);
		expect(response.status).toBe(200);
		const [row] = await waitForStored([messageId]);
		const stored = payloadOf(row as never);
		expect(stored.context.enrichment).toBeUndefined();
	});
});
