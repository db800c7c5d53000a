import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import {
	basic,
	fixtureEvents,
	ORIGIN,
	payloadOf,
	uniqueId,
	useConfig,
	WEB_KEY,
	waitForStored,
} from "./helpers";
import { recordedEvents } from "./helpers/records";

beforeAll(() => useConfig());

const CHROME =
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

interface SendOptions {
	writeKey?: string;
	headers?: Record<string, string>;
	cf?: Record<string, unknown>;
}

/** Sends one batch through the app with request headers and a `request.cf` as Cloudflare sets them; returns the stored events. */
async function sendAndLoad(
	events: Record<string, unknown>[],
	options: SendOptions = {},
	batchFields: Record<string, unknown> = {},
) {
	const batch = events.map((event) => ({ messageId: uniqueId(), ...event }));
	const request = new Request("http://collector.test/v1/batch", {
		method: "POST",
		headers: {
			authorization: basic(options.writeKey ?? WEB_KEY),
			"content-type": "application/json",
			...options.headers,
		},
		body: JSON.stringify({ batch, ...batchFields }),
		cf: options.cf,
	} as RequestInit);
	const response = await app.fetch(request, env);
	expect(response.status).toBe(200);
	const ids = batch.map((event) => event.messageId as string);
	const rows = await waitForStored(ids);
	expect(rows).toHaveLength(ids.length);
	const byId = new Map(rows.map((row) => [row.message_id, payloadOf(row)]));
	return ids.map((id) => byId.get(id) as ReturnType<typeof payloadOf>);
}

describe("ids and timestamps", () => {
	it("gives an event without messageId a ULID, the same one when the client retries it", async () => {
		const event = {
			type: "track",
			event: "Retried",
			userId: "u1",
			timestamp: "2026-11-01T08:00:00.000Z",
		};
		const send = () =>
			app.fetch(
				new Request("http://collector.test/v1/track", {
					method: "POST",
					headers: { authorization: basic(WEB_KEY) },
					body: JSON.stringify(event),
				}),
				env,
			);
		expect((await send()).status).toBe(200);
		expect((await send()).status).toBe(200);
		const deadline = Date.now() + 8000;
		let rows: { message_id: string }[] = [];
		while (Date.now() < deadline && rows.length === 0) {
			rows = (await recordedEvents())
				.filter((e) => e.event.event === "Retried")
				.map((e) => ({ message_id: e.event.messageId }));
			if (rows.length === 0)
				await new Promise((resolve) => setTimeout(resolve, 50));
		}
		expect(rows).toHaveLength(1);
		expect(rows[0]?.message_id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
	});

	it("sets receivedAt and corrects the timestamp for client clock skew, keeping originalTimestamp", async () => {
		// The client's clock runs one hour fast: its timestamp and sentAt are both an hour ahead.
		const now = Date.now();
		const happened = new Date(now + 3_600_000 - 5_000).toISOString();
		const sentAt = new Date(now + 3_600_000).toISOString();
		const [event] = await sendAndLoad([
			{
				type: "track",
				event: "Skewed",
				userId: "u1",
				timestamp: happened,
				sentAt,
			},
		]);
		const received = Date.parse(String(event?.receivedAt));
		expect(Math.abs(received - now)).toBeLessThan(5_000);
		expect(event?.originalTimestamp).toBe(happened);
		// timestamp = receivedAt − (sentAt − originalTimestamp) = receivedAt − 5 s
		expect(Date.parse(String(event?.timestamp))).toBe(received - 5_000);
	});

	it("applies a batch-level sentAt to its events", async () => {
		const [event] = await sendAndLoad(
			[
				{
					type: "track",
					event: "B",
					userId: "u",
					timestamp: "2030-01-01T00:00:10.000Z",
				},
			],
			{},
			{ sentAt: "2030-01-01T00:00:20.000Z" },
		);
		expect(
			Date.parse(String(event?.receivedAt)) -
				Date.parse(String(event?.timestamp)),
		).toBe(10_000);
	});

	it("uses the client timestamp as is when there is no sentAt, and receivedAt when there is no timestamp", async () => {
		const [withTs, withoutTs] = await sendAndLoad([
			{
				type: "track",
				event: "A",
				userId: "u",
				timestamp: "2026-11-01T08:00:00.000Z",
			},
			{ type: "track", event: "A", userId: "u" },
		]);
		expect(withTs?.timestamp).toBe("2026-11-01T08:00:00.000Z");
		expect(withoutTs?.timestamp).toBe(withoutTs?.receivedAt);
		expect(withoutTs?.originalTimestamp).toBeUndefined();
	});
});

describe("IP policy", () => {
	const headers = { "cf-connecting-ip": "203.0.113.77" };
	it.each([
		["truncate", WEB_KEY, "203.0.113.0"],
		["full", "wk_test_full_ip", "203.0.113.77"],
		["none", "wk_test_no_ip_0", undefined],
	])(
		"applies ipPolicy '%s' to CF-Connecting-IP",
		async (_policy, writeKey, expected) => {
			const [event] = await sendAndLoad([{ type: "page", anonymousId: "a" }], {
				writeKey,
				headers,
			});
			expect(event?.context.ip).toBe(expected);
		},
	);

	it("truncates IPv6 to /48 and applies the policy to an IP the server library relayed in context.ip", async () => {
		const [fromHeader, relayed] = await sendAndLoad(
			[
				{ type: "page", anonymousId: "a" },
				{ type: "page", anonymousId: "a", context: { ip: "198.51.100.23" } },
			],
			{
				headers: { "cf-connecting-ip": "2001:db8:85a3:8d3:1319:8a2e:370:7348" },
			},
		);
		expect(fromHeader?.context.ip).toBe("2001:db8:85a3::");
		expect(relayed?.context.ip).toBe("198.51.100.0");
	});
});

describe("context enrichment", () => {
	it("adds location from request.cf", async () => {
		const cf = {
			country: "DE",
			region: "Berlin",
			city: "Berlin",
			timezone: "Europe/Berlin",
			asn: 3320,
			colo: "TXL",
			latitude: "52.5",
		};
		const [event] = await sendAndLoad([{ type: "page", anonymousId: "a" }], {
			cf,
		});
		expect(event?.context.location).toEqual({
			country: "DE",
			region: "Berlin",
			city: "Berlin",
			timezone: "Europe/Berlin",
			asn: 3320,
			colo: "TXL",
		});
	});

	it("adds no location for a server source, or for an event that names another IP", async () => {
		const cf = { country: "DE", city: "Berlin", colo: "TXL" };
		// `no-ip` allows no browser origin: a server source, relaying events from elsewhere.
		const [relayed] = await sendAndLoad([{ type: "page", anonymousId: "a" }], {
			cf,
			writeKey: "wk_test_no_ip_0",
		});
		expect(relayed?.context.location).toBeUndefined();
		const [forwarded, own] = await sendAndLoad(
			[
				{ type: "page", anonymousId: "a", context: { ip: "198.51.100.7" } },
				{ type: "page", anonymousId: "a", context: { ip: "203.0.113.9" } },
			],
			{ cf, headers: { "cf-connecting-ip": "203.0.113.9" } },
		);
		expect(forwarded?.context.location).toBeUndefined();
		expect(own?.context.location).toEqual(cf);
	});

	it("parses the user agent into browser, os and device, without overriding what the client sent", async () => {
		const iphone =
			"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
		const [desktop, mobile] = await sendAndLoad([
			{ type: "page", anonymousId: "a", context: { userAgent: CHROME } },
			{
				type: "page",
				anonymousId: "a",
				context: { userAgent: iphone, device: { model: "iPhone 16" } },
			},
		]);
		expect(desktop?.context).toMatchObject({
			browser: { name: "Chrome", version: "131.0.0.0" },
			os: { name: "Windows", version: "10" },
			device: { type: "desktop" },
			isBot: false,
		});
		expect(mobile?.context).toMatchObject({
			browser: { name: "Mobile Safari", version: "18.1" },
			os: { name: "iOS", version: "18.1" },
			device: { type: "mobile", manufacturer: "Apple", model: "iPhone 16" },
		});
	});

	it("takes the user agent from a browser request when the event has none", async () => {
		const [event] = await sendAndLoad([{ type: "page", anonymousId: "a" }], {
			headers: { origin: ORIGIN, "user-agent": CHROME },
		});
		expect(event?.context.userAgent).toBe(CHROME);
		expect(event?.context.browser).toEqual({
			name: "Chrome",
			version: "131.0.0.0",
		});
	});

	it("does not take a server library's user agent as the person's", async () => {
		const [event] = await sendAndLoad(
			[{ type: "track", event: "x", userId: "u" }],
			{ headers: { "user-agent": "analytics-node-next/latest" } },
		);
		expect(event?.context.userAgent).toBeUndefined();
		expect(event?.context.browser).toBeUndefined();
	});

	it("flags bots by user agent and by Cloudflare bot management", async () => {
		const [googlebot, human, scoredLow] = await sendAndLoad(
			[
				{
					type: "page",
					anonymousId: "a",
					context: {
						userAgent:
							"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
					},
				},
				{
					type: "page",
					anonymousId: "a",
					context: {
						userAgent:
							"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
					},
				},
				{ type: "page", anonymousId: "a", context: { userAgent: CHROME } },
			],
			{
				headers: { origin: ORIGIN, "user-agent": CHROME },
				cf: { botManagement: { score: 2, verifiedBot: false } },
			},
		);
		expect(googlebot?.context.isBot).toBe(true);
		expect(googlebot?.context.device).toBeUndefined();
		expect(human?.context.isBot).toBe(false);
		// The bot score is about the requester, whose user agent is CHROME.
		expect(scoredLow?.context.isBot).toBe(true);
	});

	it("reads the campaign from utm_* and click ids in the page URL, unless the client set one", async () => {
		const [fromUrl, fromSearch, own] = await sendAndLoad([
			{
				type: "page",
				anonymousId: "a",
				context: {
					page: {
						url: "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=shoes&utm_content=ad1&gclid=abc&msclkid=m1",
					},
				},
			},
			{
				type: "page",
				anonymousId: "a",
				context: { page: { search: "?utm_source=newsletter&fbclid=IwAR0" } },
			},
			{
				type: "page",
				anonymousId: "a",
				context: {
					campaign: { name: "mine" },
					page: { url: "https://shop.example.com/?utm_campaign=theirs" },
				},
			},
		]);
		expect(fromUrl?.context.campaign).toEqual({
			name: "spring",
			source: "google",
			medium: "cpc",
			term: "shoes",
			content: "ad1",
			gclid: "abc",
			msclkid: "m1",
		});
		expect(fromSearch?.context.campaign).toEqual({
			source: "newsletter",
			fbclid: "IwAR0",
		});
		expect(own?.context.campaign).toEqual({ name: "mine" });
	});

	it("classifies the referrers of the fixture events", async () => {
		const events = fixtureEvents.slice(0, 300);
		const enriched = await sendAndLoad(
			events.map((event) => ({ ...event, messageId: uniqueId() })),
		);
		const byHost: Record<string, string> = {
			"": "direct",
			"mail.google.com": "email",
			"www.google.com": "search",
			"www.bing.com": "search",
			"www.facebook.com": "social",
			"t.co": "social",
			"shop.example.com": "internal",
		};
		const seen = new Set<string>();
		enriched.forEach((event, index) => {
			const context = events[index]?.context as {
				page: { referrer: string; url: string };
			};
			const { page } = context;
			const host = page.referrer ? new URL(page.referrer).hostname : "";
			// A campaign tagged utm_medium=email is email traffic whatever the referrer says.
			const emailCampaign =
				new URL(page.url).searchParams.get("utm_medium") === "email";
			const expected = emailCampaign ? "email" : byHost[host];
			expect({
				host,
				type: (event.context.referrer as { type: string }).type,
			}).toEqual({ host, type: expected });
			seen.add(host);
		});
		expect([...seen].sort()).toEqual(Object.keys(byHost).sort());
	});

	it("records Global Privacy Control from the Sec-GPC header", async () => {
		const [withGpc] = await sendAndLoad([{ type: "page", anonymousId: "a" }], {
			headers: { "sec-gpc": "1" },
		});
		const [without] = await sendAndLoad([{ type: "page", anonymousId: "a" }]);
		expect(withGpc?.context.gpc).toBe(true);
		expect(without?.context.gpc).toBeUndefined();
	});
});
