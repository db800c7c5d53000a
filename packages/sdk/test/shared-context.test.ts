import { expect, it } from "vitest";
import {
	createOnPage,
	keepaliveFlags,
	type Received,
	useBrowser,
	watchKeepalive,
} from "./harness";

/*
 * The context entries a burst of events shares travel once per body, as the batch's `context`;
 * the sink reads bodies as the collector does (harness.ts, batch.ts), so `body` shows each
 * event's full context and `raw` what was sent.
 */

const world = useBrowser();
/** The sink's key and URL, with batches sent at `flushAt` events (the interval is a minute). */
const options = (flushAt: number) => ({
	writeKey: world.sink.writeKey,
	endpoint: world.sink.url,
	flushAt,
	flushInterval: 60_000,
});
const SHARED = ["library", "userAgent", "locale", "screen", "timezone"];

it("sends the context of a burst once, and each event without it", async () => {
	const { page, sink } = world;
	await createOnPage(page, world.site, options(3));
	await page.evaluate(() => {
		for (const n of [1, 2, 3]) window.a.track("Viewed", { n });
	});
	await sink.waitForEvents(3);
	expect(sink.requests).toHaveLength(1);
	const { raw, body, bytes } = sink.requests[0] as Received;
	expect(Object.keys(raw.context ?? {})).toEqual([
		...SHARED,
		"page",
		"consent",
	]);
	for (const event of raw.batch) {
		expect(event).not.toHaveProperty("context");
		expect(event).not.toHaveProperty("sentAt");
	}
	for (const event of body.batch) {
		expect(event.context).toEqual(raw.context);
		expect(event.sentAt).toBe(raw.sentAt);
	}
	expect(body.batch[0]?.context).toMatchObject({
		userAgent: expect.stringContaining("Chrome"),
		page: { path: "/", title: "Test", url: `${world.site.url}/` },
		consent: { categoryPreferences: { analytics: true } },
	});
	// A context in every event would have been some 400 B each.
	expect(bytes).toBeLessThan(3 * 300 + 600);
});

it("keeps an entry in each event once one differs, and still sends the rest once", async () => {
	const { page, sink } = world;
	await createOnPage(page, world.site, options(4));
	await page.evaluate(() => {
		const { a } = window;
		// A middleware retitles one event; the route changes before the last two.
		a.use((event) => {
			if (event.event === "Second")
				(event.context.page as { title: string }).title = "Retitled";
			return event;
		});
		a.track("First");
		a.track("Second");
		history.pushState(null, "", "/next?step=2");
		a.track("Third");
		a.track("Fourth");
	});
	const events = await sink.waitForEvents(4);
	expect(sink.requests).toHaveLength(1);
	const { raw } = sink.requests[0] as Received;
	expect(Object.keys(raw.context ?? {})).toEqual([...SHARED, "consent"]);
	expect(raw.batch.map((event) => Object.keys(event.context))).toEqual([
		["page"],
		["page"],
		["page"],
		["page"],
	]);
	expect(
		events.map((event) => [
			event.event,
			event.context.page,
			event.context.userAgent,
			event.context.consent,
		]),
	).toEqual(
		[
			["First", "/", "", "Test"],
			["Second", "/", "", "Retitled"],
			["Third", "/next", "?step=2", "Test"],
			["Fourth", "/next", "?step=2", "Test"],
		].map(([name, path, search, title]) => [
			name,
			{
				path,
				referrer: "",
				search,
				title,
				url: `${world.site.url}${path}${search}`,
			},
			raw.context?.userAgent,
			raw.context?.consent,
		]),
	);
});

it("keeps each keepalive body under 64 KB with the shared context counted in", async () => {
	const { page, sink, context } = world;
	await watchKeepalive(context);
	await createOnPage(page, world.site, options(1000));
	await page.evaluate(() => {
		const { a } = window;
		// 20 KB of context every event shares, and 8 KB of properties each.
		const note = "n".repeat(20_000);
		a.use((event) => {
			event.context.note = note;
			return event;
		});
		const blob = "y".repeat(8_000);
		for (let n = 0; n < 20; n++) a.track("Big", { n, blob });
		Object.defineProperty(document, "visibilityState", {
			value: "hidden",
			configurable: true,
		});
		document.dispatchEvent(new Event("visibilitychange"));
	});
	const events = await sink.waitForEvents(20);
	expect(events.map((event) => event.properties?.n)).toEqual(
		Array.from({ length: 20 }, (_, n) => n),
	);
	expect(sink.requests.length).toBeGreaterThanOrEqual(4);
	for (const request of sink.requests) {
		expect(request.bytes).toBeLessThanOrEqual(64 * 1024);
		expect(request.raw.context?.note).toHaveLength(20_000);
		expect(request.body.batch.every((e) => e.context.note)).toBe(true);
	}
	const flags = await keepaliveFlags(page);
	expect(flags).toHaveLength(sink.requests.length);
	expect(flags.every(Boolean)).toBe(true);
});
