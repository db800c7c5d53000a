import { describe, expect, it } from "vitest";
import { createOnPage, useBrowser } from "./harness";

const world = useBrowser();

describe("every method", () => {
	it("sends page, track, identify, group and alias as Segment Spec events", async () => {
		await world.page.goto(
			`${world.site.url}/shop?utm_source=news&utm_campaign=spring`,
		);
		await createOnPage(world.page, world.site, {
			writeKey: world.sink.writeKey,
			endpoint: world.sink.url,
			flushAt: 100,
		});
		const flushed = await world.page.evaluate(() => {
			const { a } = window;
			a.page();
			a.page("Shop", { section: "shoes" });
			a.page("Docs", "Setup", { step: 1 });
			a.identify("u1", { plan: "pro" });
			a.track("Product Viewed", { sku: "A-1" });
			a.group("g1", { name: "Acme" });
			a.alias("u2");
			return a.flush();
		});
		expect(flushed).toBe(true);
		const events = world.sink.events();
		expect(events.map((e) => e.type)).toEqual([
			"page",
			"page",
			"page",
			"identify",
			"track",
			"group",
			"alias",
		]);
		const [page1, page2, page3, identify, track, group, alias] = events;
		expect(page1?.name).toBeUndefined();
		expect(page2).toMatchObject({
			name: "Shop",
			properties: { section: "shoes", path: "/shop" },
		});
		expect(page3).toMatchObject({
			category: "Docs",
			name: "Setup",
			properties: { step: 1 },
		});
		expect(identify).toMatchObject({ userId: "u1", traits: { plan: "pro" } });
		expect(track).toMatchObject({
			event: "Product Viewed",
			properties: { sku: "A-1" },
			userId: "u1",
			context: { traits: { plan: "pro" } },
		});
		expect(group).toMatchObject({ groupId: "g1", traits: { name: "Acme" } });
		expect(alias).toMatchObject({ userId: "u2", previousId: "u1" });

		const anonymousId = page1?.anonymousId;
		expect(anonymousId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
		for (const event of events) {
			expect(event.messageId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
			expect(event.anonymousId).toBe(anonymousId);
			expect(Date.parse(event.timestamp)).toBeGreaterThan(0);
			expect(Date.parse(event.sentAt ?? "")).toBeGreaterThanOrEqual(
				Date.parse(event.timestamp),
			);
		}
		// messageIds are ULIDs from one monotonic factory: their order is the call order.
		const ids = events.map((e) => e.messageId);
		expect([...ids].sort()).toEqual(ids);
		expect(new Set(ids).size).toBe(ids.length);

		const context = track?.context as Record<string, unknown>;
		expect(context).toMatchObject({
			library: { name: "@conduit/sdk", version: "0.1.0" },
			page: {
				path: "/shop",
				search: "?utm_source=news&utm_campaign=spring",
				title: "Test",
				url: `${world.site.url}/shop?utm_source=news&utm_campaign=spring`,
				referrer: "",
			},
			campaign: { source: "news", name: "spring" },
			consent: {
				categoryPreferences: {
					necessary: true,
					analytics: true,
					marketing: true,
				},
			},
			locale: expect.any(String),
			timezone: expect.any(String),
			userAgent: expect.stringContaining("Chrome"),
			screen: { width: expect.any(Number), height: expect.any(Number) },
		});
		// One request, sent as text/plain with the write key inside: no CORS preflight.
		expect(world.sink.requests).toHaveLength(1);
		expect(world.sink.requests[0]?.contentType).toMatch(/^text\/plain/);
		expect(world.sink.requests[0]?.body.writeKey).toBe(world.sink.writeKey);
		expect(world.sink.preflights).toBe(0);
	});

	it("answers user(), consent.get/onChange, ready and use", async () => {
		await createOnPage(world.page, world.site, {
			writeKey: world.sink.writeKey,
			endpoint: world.sink.url,
		});
		const result = await world.page.evaluate(async () => {
			const { a } = window;
			const seen: unknown[] = [];
			const stop = a.consent.onChange((p) => seen.push(p));
			await new Promise<void>((resolve) => a.ready(resolve));
			a.use((event) => (event.event === "Secret" ? null : event));
			a.use((event) => {
				event.properties = { ...event.properties, enriched: true };
				return event;
			});
			a.identify("u9", { email: "x@example.com" });
			a.track("Secret");
			a.track("Visible");
			a.consent.set({ marketing: false });
			stop();
			a.consent.set({ marketing: true });
			await a.flush();
			return { user: a.user(), prefs: a.consent.get(), seen };
		});
		expect(result.user).toMatchObject({
			userId: "u9",
			traits: { email: "x@example.com" },
		});
		expect(result.prefs).toEqual({
			necessary: true,
			analytics: true,
			marketing: true,
		});
		expect(result.seen).toEqual([
			{ necessary: true, analytics: true, marketing: false },
		]);
		const names = world.sink.events().map((e) => e.event ?? e.type);
		expect(names).toEqual([
			"identify",
			"Visible",
			"Segment Consent Preference Updated",
			"Segment Consent Preference Updated",
		]);
		expect(world.sink.events()[1]?.properties).toEqual({ enriched: true });
		expect(
			world.sink.events()[2]?.context.consent.categoryPreferences.marketing,
		).toBe(false);
	});

	it("never throws into the page, whatever it is given", async () => {
		const errors: string[] = [];
		world.page.on("pageerror", (e) => errors.push(e.message));
		await createOnPage(world.page, world.site, {
			writeKey: world.sink.writeKey,
			endpoint: world.sink.url,
		});
		const threw = await world.page.evaluate(async () => {
			const a = window.a as unknown as Record<
				string,
				(...x: unknown[]) => unknown
			>;
			const calls: [string, unknown[]][] = [
				["track", []],
				["track", [null, 5]],
				["page", [{}, {}, {}]],
				["identify", [Symbol("x")]],
				[
					"use",
					[
						() => {
							throw new Error("middleware bug");
						},
					],
				],
				["track", ["After a broken middleware"]],
				[
					"ready",
					[
						() => {
							throw new Error("callback bug");
						},
					],
				],
			];
			let count = 0;
			for (const [name, args] of calls)
				try {
					a[name]?.(...args);
				} catch {
					count++;
				}
			try {
				(a.consent as unknown as { set(x: unknown): void }).set(null);
			} catch {
				count++;
			}
			await new Promise((r) => setTimeout(r, 10));
			return count;
		});
		expect(threw).toBe(0);
		expect(errors).toEqual([]);
		const codes = await world.page.evaluate(() =>
			window.log.errors.map((e) => e.code),
		);
		expect(codes).toContain("internal");
	});
});

describe("batching", () => {
	it("sends as soon as flushAt events wait", async () => {
		await createOnPage(world.page, world.site, {
			writeKey: world.sink.writeKey,
			endpoint: world.sink.url,
			flushAt: 3,
			flushInterval: 60_000,
		});
		await world.page.evaluate(() => {
			window.a.track("E1");
			window.a.track("E2");
		});
		await world.page.evaluate(() => window.a.track("E3"));
		await world.sink.waitForEvents(3);
		// One request with all three: the first two waited for the third (the interval is a minute).
		expect(
			world.sink.requests.map((r) => r.body.batch.map((e) => e.event)),
		).toEqual([["E1", "E2", "E3"]]);
	});

	it("sends after flushInterval when fewer wait", async () => {
		const { sink, page } = world;
		await createOnPage(page, world.site, {
			writeKey: sink.writeKey,
			endpoint: sink.url,
			flushAt: 20,
			flushInterval: 300,
		});
		// The interval runs from the first waiting event (on load, from the start: stored events
		// of an earlier visit go then). Wait out the load's round, then time one of our own.
		await page.evaluate(() => window.a.flush());
		await page.evaluate(() => {
			window.a.track("Alone");
			window.a.track("Together");
		});
		const [event] = await sink.waitForEvents(2);
		const waited =
			Date.parse(event?.sentAt ?? "") - Date.parse(event?.timestamp ?? "");
		expect(waited).toBeGreaterThanOrEqual(300);
		expect(waited).toBeLessThan(2000);
		expect(sink.requests).toHaveLength(1);
	});

	it("splits payloads under 500 KB", async () => {
		await createOnPage(world.page, world.site, {
			writeKey: world.sink.writeKey,
			endpoint: world.sink.url,
			flushAt: 1000,
		});
		await world.page.evaluate(() => {
			const blob = "x".repeat(20_000);
			for (let n = 0; n < 60; n++) window.a.track("Big", { n, blob });
			return window.a.flush();
		});
		expect(world.sink.events().map((e) => e.properties?.n)).toEqual(
			Array.from({ length: 60 }, (_, n) => n),
		);
		expect(world.sink.requests.length).toBeGreaterThanOrEqual(3);
		for (const request of world.sink.requests)
			expect(request.bytes).toBeLessThanOrEqual(500 * 1024);
	});
});
