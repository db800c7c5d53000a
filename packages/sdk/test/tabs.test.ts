import { describe, expect, it } from "vitest";
import { createOnPage, useBrowser } from "./harness";

const world = useBrowser();

describe.each([
	["the Web Locks API", false],
	["the localStorage lease (no Web Locks)", true],
])("two tabs coordinating with %s", (_, withoutLocks) => {
	it("never send the same stored event twice", async () => {
		const { sink, context, site } = world;
		if (withoutLocks)
			await context.addInitScript(() =>
				Object.defineProperty(Navigator.prototype, "locks", {
					get: () => undefined,
				}),
			);
		const tabs = [world.page, await context.newPage()];
		const options = {
			writeKey: sink.writeKey,
			endpoint: sink.url,
			flushAt: 5,
			flushInterval: 50,
		};
		for (const tab of tabs) await createOnPage(tab, site, options);
		const hasLocks = await world.page.evaluate(
			() => "locks" in navigator && !!navigator.locks,
		);
		expect(hasLocks).toBe(!withoutLocks);

		await Promise.all(
			tabs.map((tab, n) =>
				tab.evaluate(async (n) => {
					for (let i = 0; i < 40; i++) {
						window.a.track("Tabbed", { tab: n, i });
						if (i % 8 === 7) await new Promise((r) => setTimeout(r, 20));
					}
				}, n),
			),
		);
		await sink.waitForEvents(80, 8000);
		// Each tab finishes what it has in hand (a tab closed while its request is in flight
		// resends on the next visit: at least once, by design). Then both close; their pagehide
		// must not resend what the other tab delivered. A third tab's event, sent after the
		// closes, marks the point by which such a resend would have come.
		// (Under a lease, flush() answers false while the other tab holds it: ask again, bounded.)
		for (const tab of tabs) {
			let drained = false;
			for (let i = 0; i < 20 && !drained; i++)
				drained = await tab.evaluate(() => window.a.flush());
			expect(drained).toBe(true);
		}
		await Promise.all(tabs.map((tab) => tab.close()));
		const marker = await context.newPage();
		await createOnPage(marker, site, { ...options, flushAt: 1 });
		await marker.evaluate(() => window.a.track("Marker"));
		// A tab that closed holding the fallback lease blocks the others until it expires (5 s).
		const events = await sink.waitForEvents(81, 8000);
		const ids = events.map((e) => e.messageId);
		expect(new Set(ids).size).toBe(ids.length);
		expect(events.filter((e) => e.event === "Tabbed")).toHaveLength(80);
	}, 15_000);
});

describe("a tab whose stored events another tab sent", () => {
	it("does not send them again when it closes, even without BroadcastChannel", async () => {
		const { sink, context, site } = world;
		// Without BroadcastChannel, the sending tab cannot tell the other one: the other learns
		// it from its records being gone from the store when it next looks.
		await context.addInitScript(() => {
			Object.defineProperty(window, "BroadcastChannel", { value: undefined });
		});
		const options = {
			writeKey: sink.writeKey,
			endpoint: sink.url,
			flushAt: 1000,
			flushInterval: 60_000,
		};
		const [owner, sender] = [world.page, await context.newPage()];
		for (const tab of [owner, sender]) await createOnPage(tab, site, options);
		await owner.evaluate(() => {
			for (let i = 0; i < 60; i++) window.a.track("Owned", { i });
		});
		// The other tab sends what the store holds: the owner's 60 events.
		expect(await sender.evaluate(() => window.a.flush())).toBe(true);
		expect(await sink.waitForEvents(60, 5000)).toHaveLength(60);
		// The owner looks: its records are gone, so its pagehide has nothing left to send.
		expect(await owner.evaluate(() => window.a.flush())).toBe(true);
		await owner.close({ runBeforeUnload: true });
		const marker = await context.newPage();
		await createOnPage(marker, site, { ...options, flushAt: 1 });
		await marker.evaluate(() => window.a.track("Marker"));
		const events = await sink.waitForEvents(61, 5000);
		const ids = events.map((e) => e.messageId);
		expect(new Set(ids).size).toBe(ids.length);
		expect(events.filter((e) => e.event === "Owned")).toHaveLength(60);
	});
});
