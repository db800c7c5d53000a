import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SNIPPET } from "../src/snippet";
import { useBrowser } from "./harness";

const world = useBrowser();

/** A page that uses the snippet and calls it before the script-tag build arrives. */
function shopPage(calls: string) {
	const { sink } = world;
	return `<!doctype html><title>Shop</title>
<script>${SNIPPET}</script>
<script>
conduit.options = { flushAt: 100, flushInterval: 100 };
window.before = Date.now();
${calls}
window.queued = conduit.length;
window.after = Date.now();
</script>
<script async src="/conduit.js" data-write-key="${sink.writeKey}" data-endpoint="${sink.url}"></script>`;
}

describe("snippet", () => {
	it("records calls made before the script loads and replays them in order", async () => {
		const { page, site, sink } = world;
		site.scriptDelay = 300;
		site.pages.set(
			"/snippet",
			shopPage(`
const stub = conduit;
conduit.use(function (event) { event.properties = Object.assign({}, event.properties, { viaMiddleware: true }); return event; });
conduit.page();
conduit.identify("u1", { plan: "pro" });
conduit.track("A");
conduit.consent.set({ marketing: false });
conduit.track("B");
conduit.ready(function () { window.loadedAt = Date.now(); stub.track("C"); });`),
		);
		await page.goto(`${site.url}/snippet`);
		const events = await sink.waitForEvents(6);
		expect(events.map((e) => e.event ?? e.type)).toEqual([
			"page",
			"identify",
			"A",
			"Segment Consent Preference Updated",
			"B",
			"C",
		]);
		const times = await page.evaluate(() => {
			const w = window as unknown as Record<string, number>;
			return {
				before: w.before ?? 0,
				after: w.after ?? 0,
				loadedAt: w.loadedAt ?? 0,
				queued: w.queued,
			};
		});
		// The recorded calls keep the time they were made, not the time they were replayed.
		for (const event of events.slice(0, 5)) {
			const at = Date.parse(event.timestamp);
			expect(at).toBeGreaterThanOrEqual(times.before);
			expect(at).toBeLessThanOrEqual(times.after);
		}
		// Every call was recorded by the stub (the SDK had not loaded), then replayed once it had.
		expect(times.queued).toBe(7);
		expect(times.loadedAt).toBeGreaterThanOrEqual(times.after);
		expect(events[2]).toMatchObject({
			userId: "u1",
			properties: { viaMiddleware: true },
		});
		expect(events[4]?.context.consent.categoryPreferences.marketing).toBe(
			false,
		);
		expect(events[0]?.context.page).toMatchObject({
			path: "/snippet",
			title: "Shop",
		});
		// After loading, `conduit` is the SDK itself; running the snippet again changes nothing.
		const api = await page.evaluate((snippet) => {
			const before = window.conduit;
			new Function(snippet)();
			const c = window.conduit as { user(): { userId: string } };
			return { same: before === window.conduit, userId: c.user().userId };
		}, SNIPPET);
		expect(api).toEqual({ same: true, userId: "u1" });
	});

	it("reads the write key and endpoint from the tag, and works without the snippet", async () => {
		const { page, site, sink } = world;
		site.pages.set(
			"/plain",
			`<!doctype html><title>Plain</title>
<script src="/conduit.js" data-write-key="${sink.writeKey}" data-endpoint="${sink.url}"></script>
<script>conduit.track("Loaded first"); conduit.flush();</script>`,
		);
		await page.goto(`${site.url}/plain`);
		const [event] = await sink.waitForEvents(1);
		expect(event?.event).toBe("Loaded first");
		expect(sink.requests[0]?.body.writeKey).toBe(sink.writeKey);
	});

	it("is the same text in both READMEs and the example page", () => {
		const read = (path: string) =>
			readFileSync(new URL(path, import.meta.url), "utf8");
		expect(read("../README.md")).toContain(SNIPPET);
		expect(read("../../../README.md")).toContain(SNIPPET);
		expect(read("../../../examples/script-tag/index.html")).toContain(SNIPPET);
	});
});
