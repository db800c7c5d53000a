import { describe, expect, it } from "vitest";
import { applyBatch, type Body } from "../test/batch";
import { bodies, KEEPALIVE_BYTES } from "./transport";
import type { ConduitEvent, JsonObject } from "./types";

const NOW = Date.parse("2026-12-02T10:00:00.000Z");
const library = { name: "@conduit/sdk", version: "0.1.0" };
const screen = { width: 1280, height: 800, density: 2 };

/** Events as the tracker builds them in one burst: the static parts shared, page and consent new each time. */
function burst(count: number, extra: (n: number) => JsonObject = () => ({})) {
	return Array.from({ length: count }, (_, n): ConduitEvent => {
		return {
			type: "track",
			messageId: `01JXYZ${String(n).padStart(20, "0")}`,
			anonymousId: "01JANON0000000000000000000",
			timestamp: new Date(NOW - 1000 + n).toISOString(),
			event: "Product Viewed",
			properties: { n },
			context: {
				library,
				userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
				locale: "de-DE",
				screen,
				timezone: "Europe/Berlin",
				page: {
					path: "/shop",
					referrer: "",
					search: "",
					title: "Shop",
					url: "https://shop.example/shop",
				},
				consent: { categoryPreferences: { necessary: true, analytics: true } },
				...extra(n),
			},
		};
	});
}

const parse = (body: string): Body => JSON.parse(body);
const at = (events: ConduitEvent[], i: number) => events[i] as ConduitEvent;
const page = (event: ConduitEvent) => event.context.page as JsonObject;
/** Each event's context, as the collector rebuilds it from the body. */
const rebuilt = (body: string) =>
	applyBatch(parse(body)).batch.map((event) => event.context);
/** What each event's context is as JSON (undefined values dropped, as the wire drops them). */
const expected = (events: ConduitEvent[]) =>
	events.map((event) => JSON.parse(JSON.stringify(event.context)));

describe("bodies", () => {
	it("sends the context a burst shares once, and sentAt only at the top", () => {
		const events = burst(3);
		const [[sent, body, bytes] = []] = bodies(events, "wk_1", 500_000, NOW);
		expect(sent).toEqual(events);
		const raw = parse(body ?? "");
		expect(raw.context).toEqual(expected(events)[0]);
		expect(raw.sentAt).toBe(new Date(NOW).toISOString());
		expect(raw.writeKey).toBe("wk_1");
		for (const event of raw.batch) {
			expect(event).not.toHaveProperty("context");
			expect(event).not.toHaveProperty("sentAt");
		}
		expect(rebuilt(body ?? "")).toEqual(expected(events));
		expect(bytes).toBe(new TextEncoder().encode(body).length);
		// The events themselves are not changed.
		expect(events[0]?.sentAt).toBeUndefined();
	});

	it("keeps an entry in every event once one event's value differs", () => {
		const events = burst(4);
		// A middleware's title on one event, and a route change before the last.
		page(at(events, 1)).title = "Changed";
		page(at(events, 3)).path = "/cart";
		const [[, body] = []] = bodies(events, "wk", 500_000, NOW);
		const raw = parse(body ?? "");
		expect(Object.keys(raw.context ?? {})).toEqual([
			"library",
			"userAgent",
			"locale",
			"screen",
			"timezone",
			"consent",
		]);
		expect(raw.batch.map((e) => e.context)).toEqual(
			events.map((e) => ({ page: e.context.page })),
		);
		expect(rebuilt(body ?? "")).toEqual(expected(events));
	});

	it("treats undefined as no value, as JSON does", () => {
		const events = burst(3, (n) => ({
			// Undefined in all: in none. Set in one only: that event keeps it.
			gone: undefined,
			late: n === 2 ? "set" : undefined,
			// Missing from one event: the others keep it.
			partial: n === 1 ? undefined : { a: 1 },
		}));
		delete at(events, 0).context.timezone;
		const [[, body] = []] = bodies(events, "wk", 500_000, NOW);
		const raw = parse(body ?? "");
		expect(raw.context).not.toHaveProperty("timezone");
		expect(raw.context).not.toHaveProperty("late");
		expect(raw.context).not.toHaveProperty("partial");
		expect(raw.batch[1]?.context).toEqual({ timezone: "Europe/Berlin" });
		expect(raw.batch[2]?.context).toEqual({
			timezone: "Europe/Berlin",
			late: "set",
			partial: { a: 1 },
		});
		expect(rebuilt(body ?? "")).toEqual(expected(events));
	});

	it("counts the shared context in each body's size", () => {
		// 20 KB shared by all: once per body, and each body still within the limit.
		const blob = "z".repeat(20_000);
		const events = burst(100, () => ({ blob }));
		for (const event of events)
			(event.properties as JsonObject).pad = "p".repeat(1000);
		const all = bodies(events, "wk", KEEPALIVE_BYTES, NOW);
		expect(all.length).toBeGreaterThan(2);
		for (const [sent, body, bytes] of all) {
			expect(bytes).toBe(new TextEncoder().encode(body).length);
			expect(bytes).toBeLessThanOrEqual(KEEPALIVE_BYTES);
			expect(parse(body).context?.blob).toBe(blob);
			expect(parse(body).batch).toHaveLength(sent.length);
		}
		expect(all.flatMap(([sent]) => sent)).toEqual(events);
		expect(all.flatMap(([, body]) => rebuilt(body))).toEqual(expected(events));
	});

	it("measures UTF-8, sends an event too large for the limit alone, and caps events per body", () => {
		const events = burst(4, () => ({ locale: "fr-FR" }));
		page(at(events, 0)).title = "Café ☕";
		(at(events, 2).properties as JsonObject).big = "x".repeat(5000);
		const all = bodies(events, "wk", 4000, NOW);
		expect(all.map(([sent]) => sent.map((e) => e.properties?.n))).toEqual([
			[0, 1],
			[2],
			[3],
		]);
		for (const [, body, bytes] of all)
			expect(bytes).toBe(new TextEncoder().encode(body).length);
		expect(
			bodies(burst(2600), "wk", 5_000_000, NOW).map(([s]) => s.length),
		).toEqual([2500, 100]);
		expect(bodies([], "wk", 4000, NOW)).toEqual([]);
	});

	it("leaves out a sentAt an event was stored with", () => {
		const events = burst(2);
		at(events, 0).sentAt = "2026-11-30T00:00:00.000Z";
		const [[, body] = []] = bodies(events, "wk", 500_000, NOW);
		expect(parse(body ?? "").batch[0]).not.toHaveProperty("sentAt");
		expect(applyBatch(parse(body ?? "")).batch[0]?.sentAt).toBe(
			new Date(NOW).toISOString(),
		);
	});

	it("fills in the time zone of events made before it was read, unless a middleware removed it", () => {
		const events = burst(2);
		at(events, 0).context.timezone = undefined;
		delete at(events, 1).context.timezone;
		const [[, body] = []] = bodies(events, "wk", 500_000, NOW);
		const [first, second] = rebuilt(body ?? "");
		expect(first?.timezone).toBe(
			Intl.DateTimeFormat().resolvedOptions().timeZone,
		);
		expect(second).not.toHaveProperty("timezone");
	});
});
