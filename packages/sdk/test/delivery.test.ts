import { describe, expect, it } from "vitest";
import {
	createOnPage,
	keepaliveFlags,
	storedEvents,
	useBrowser,
	watchKeepalive,
} from "./harness";

const world = useBrowser();
const options = (extra: object = {}) => ({
	writeKey: world.sink.writeKey,
	endpoint: world.sink.url,
	...extra,
});
const gaps = (times: number[]) =>
	times.slice(1).map((t, i) => t - (times[i] ?? t));
const errors = () => world.page.evaluate(() => window.log.errors);

describe("retries", () => {
	it("backs off after 5xx and network errors, and waits for Retry-After", async () => {
		const { sink } = world;
		sink.replies = [
			{ status: 500 },
			{ status: 0, hangUp: true },
			{ status: 429, headers: { "Retry-After": "2" } },
		];
		await createOnPage(world.page, world.site, options({ flushAt: 1 }));
		await world.page.evaluate(() => window.a.track("Persistent"));
		await sink.waitForEvents(1, 8000);
		expect(sink.attempts).toHaveLength(4);
		const [afterError, afterHangUp, afterRetryAfter] = gaps(sink.attempts);
		// backoff(0) is 500–1000 ms, backoff(1) 1000–2000 ms; Retry-After: 2 beats backoff(2).
		expect(afterError).toBeGreaterThanOrEqual(490);
		expect(afterError).toBeLessThan(1500);
		expect(afterHangUp).toBeGreaterThanOrEqual(990);
		expect(afterHangUp).toBeLessThan(2500);
		expect(afterRetryAfter).toBeGreaterThanOrEqual(1990);
		expect(sink.events().map((e) => e.event)).toEqual(["Persistent"]);
		// The sink has answered; flush() resolves once the page has taken the answer in.
		expect(await world.page.evaluate(() => window.a.flush())).toBe(true);
		expect(await storedEvents(world.page)).toBe(0);
	}, 15_000);

	it("drops a batch refused with another 4xx, counts it and reports it", async () => {
		const { sink } = world;
		sink.replies = [{ status: 400, body: { success: false, error: "bad" } }];
		await createOnPage(world.page, world.site, options({ flushAt: 100 }));
		const results = await world.page.evaluate(async () => {
			window.a.track("One");
			window.a.track("Two");
			return [await window.a.flush(), await window.a.flush()];
		});
		expect(results).toEqual([true, true]);
		expect(sink.attempts).toHaveLength(1);
		expect(await errors()).toEqual([{ code: "fatal", count: 2 }]);
		expect(await storedEvents(world.page)).toBe(0);
	});

	it("drops only the events the collector rejected", async () => {
		const { sink } = world;
		sink.replies = [
			(body) => ({
				status: 200,
				body: {
					success: true,
					accepted: body.batch.length - 1,
					rejected: [
						{ index: 1, messageId: body.batch[1]?.messageId, error: "invalid" },
					],
				},
			}),
		];
		await createOnPage(world.page, world.site, options({ flushAt: 100 }));
		await world.page.evaluate(async () => {
			for (const name of ["A", "B", "C"]) window.a.track(name);
			await window.a.flush();
			await window.a.flush();
		});
		expect(sink.attempts).toHaveLength(1);
		expect(await errors()).toEqual([{ code: "rejected", count: 1 }]);
		expect(await storedEvents(world.page)).toBe(0);
	});

	it("halves a batch the collector finds too large", async () => {
		const { sink } = world;
		sink.replies = [{ status: 413 }];
		await createOnPage(world.page, world.site, options({ flushAt: 100 }));
		await world.page.evaluate(async () => {
			for (const name of ["A", "B", "C", "D"]) window.a.track(name);
			await window.a.flush();
		});
		expect(sink.requests.map((r) => r.body.batch.map((e) => e.event))).toEqual([
			["A", "B"],
			["C", "D"],
		]);
		expect(await errors()).toEqual([]);
	});
});

describe("offline queue", () => {
	it("keeps events through an outage and a reload, then delivers each exactly once", async () => {
		const { sink, page, context } = world;
		const opts = options({ flushAt: 1, flushInterval: 100 });
		await createOnPage(page, world.site, opts);
		sink.down = true;
		const flushed = await page.evaluate(() => {
			for (let n = 0; n < 5; n++) window.a.track("Queued", { n });
			return window.a.flush();
		});
		expect(flushed).toBe(false);
		expect(await storedEvents(page)).toBe(5);

		await page.reload();
		await createOnPage(page, world.site, opts);
		expect(await storedEvents(page)).toBe(5);
		await page.evaluate(() => window.a.track("After reload"));

		await context.setOffline(true);
		sink.down = false;
		await context.setOffline(false);
		const events = await sink.waitForEvents(6, 5000);
		const ids = events.map((e) => e.messageId);
		expect(new Set(ids).size).toBe(ids.length);
		expect(events.map((e) => e.properties?.n ?? e.event).sort()).toEqual([
			0,
			1,
			2,
			3,
			4,
			"After reload",
		]);
		await page.evaluate(() => window.a.flush());
		expect(await storedEvents(page)).toBe(0);
		expect(sink.events()).toHaveLength(6);
	});

	it("keeps the unsent part of a stored record through a reload", async () => {
		const { sink, page } = world;
		const opts = options({ flushAt: 100 });
		// 60 events in one task are stored as two records (50 and 10). Too large: halved; the
		// first 30 are accepted, the next 30 must wait, 20 of them in the first record.
		sink.replies = [{ status: 413 }, { status: 200 }, { status: 503 }];
		await createOnPage(page, world.site, opts);
		const flushed = await page.evaluate(() => {
			for (let n = 0; n < 60; n++) window.a.track("Chunked", { n });
			return window.a.flush();
		});
		expect(flushed).toBe(false);
		expect(await storedEvents(page)).toBe(30);

		await page.reload();
		await createOnPage(page, world.site, opts);
		const events = await sink.waitForEvents(60, 5000);
		// The unloading page hands its 30 unsent events to a keepalive request, and the next page
		// cannot know whether that one arrived: the 30 may come twice, under the same messageIds
		// (the collector keeps one of each). Events the collector acknowledged never come again.
		const first = new Map<string, unknown>();
		for (const e of events)
			if (!first.has(e.messageId)) first.set(e.messageId, e.properties?.n);
		expect([...first.values()]).toEqual(
			Array.from({ length: 60 }, (_, n) => n),
		);
		expect(events.filter((e) => (e.properties?.n as number) < 30)).toHaveLength(
			30,
		);
		await page.evaluate(() => window.a.flush());
		expect(await storedEvents(page)).toBe(0);
	});

	it("sends as soon as the browser is back online", async () => {
		const { sink, page, context } = world;
		await createOnPage(page, world.site, options({ flushAt: 100 }));
		await context.setOffline(true);
		const attempts = await page.evaluate(async () => {
			window.a.track("While offline");
			// Three failures in a row: the next scheduled retry is 4–8 s away.
			return [
				await window.a.flush(),
				await window.a.flush(),
				await window.a.flush(),
			];
		});
		expect(attempts).toEqual([false, false, false]);
		// The next scheduled retry is at least 4 s away: an event sooner came from going online.
		const back = Date.now();
		await context.setOffline(false);
		await sink.waitForEvents(1, 4000);
		expect(Date.now() - back).toBeLessThan(4000);
		expect(sink.events().map((e) => e.event)).toEqual(["While offline"]);
	});
});

describe("bounds", () => {
	it("keeps at most maxQueue stored events, dropping the oldest and counting them", async () => {
		const { sink, page } = world;
		await createOnPage(
			page,
			world.site,
			options({ flushAt: 100, maxQueue: 3 }),
		);
		sink.down = true;
		const flushed = await page.evaluate(() => {
			for (let n = 0; n < 5; n++) window.a.track("Bounded", { n });
			return window.a.flush();
		});
		expect(flushed).toBe(false);
		expect(await storedEvents(page)).toBe(3);
		expect(await errors()).toEqual([{ code: "overflow", count: 2 }]);
		sink.down = false;
		await page.evaluate(() => window.a.flush());
		expect(sink.events().map((e) => e.properties?.n)).toEqual([2, 3, 4]);
	});

	it("drops stored events older than maxAge", async () => {
		const { sink, page, site } = world;
		// Calls recorded by the snippet keep their time: one made a minute ago is past maxAge.
		site.pages.set(
			"/aged",
			`<!doctype html><title>Aged</title><script>
window.conduit = [
	["track", ["Stale"], Date.now() - 60000, location.href, document.title],
	["track", ["Fresh"], Date.now(), location.href, document.title],
];
conduit.options = { maxAge: 30000, flushAt: 100, onError: (e) => (window.dropped = [e.code, e.count]) };
</script><script src="/conduit.js" data-write-key="${sink.writeKey}" data-endpoint="${sink.url}"></script>`,
		);
		await page.goto(`${site.url}/aged`);
		const dropped = await page.evaluate(async () => {
			await (window.conduit as { flush(): Promise<boolean> }).flush();
			return (window as unknown as { dropped: unknown }).dropped;
		});
		expect(dropped).toEqual(["expired", 1]);
		expect(sink.events().map((e) => e.event)).toEqual(["Fresh"]);
	});
});

describe("unload", () => {
	it("flushes with keepalive in bodies under 64 KB when the page is hidden", async () => {
		const { sink, page, context } = world;
		await watchKeepalive(context);
		await createOnPage(page, world.site, options({ flushAt: 1000 }));
		await page.evaluate(() => {
			const blob = "y".repeat(20_000);
			for (let n = 0; n < 10; n++) window.a.track("Big", { n, blob });
			Object.defineProperty(document, "visibilityState", {
				value: "hidden",
				configurable: true,
			});
			document.dispatchEvent(new Event("visibilitychange"));
		});
		await sink.waitForEvents(10);
		expect(sink.requests.length).toBeGreaterThanOrEqual(4);
		for (const request of sink.requests)
			expect(request.bytes).toBeLessThanOrEqual(64 * 1024);
		const flags = await keepaliveFlags(page);
		expect(flags.length).toBe(sink.requests.length);
		expect(flags.every(Boolean)).toBe(true);
	});

	it("delivers what is waiting when the tab is closed", async () => {
		const { sink, page } = world;
		await createOnPage(
			page,
			world.site,
			options({ flushAt: 100, flushInterval: 60_000 }),
		);
		await page.evaluate(() => {
			window.a.page();
			window.a.track("Last words");
		});
		await page.close();
		const events = await sink.waitForEvents(2);
		expect(events.map((e) => e.event ?? e.type)).toEqual([
			"page",
			"Last words",
		]);
	});
});
