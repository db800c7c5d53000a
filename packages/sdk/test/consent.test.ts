import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createOnPage, storedEvents, useBrowser } from "./harness";

const world = useBrowser();
const options = (extra: object = {}) => ({
	writeKey: world.sink.writeKey,
	endpoint: world.sink.url,
	flushAt: 100,
	...extra,
});

/** Everything the page has stored: cookies, localStorage keys and IndexedDB databases. */
async function storage(page: Page) {
	const inPage = await page.evaluate(async () => ({
		localStorage: Object.keys(localStorage).sort(),
		databases: (await indexedDB.databases()).map((d) => d.name),
	}));
	const cookies = (await page.context().cookies()).map((c) => c.name).sort();
	return { cookies, ...inPage };
}
const nothing = { cookies: [], localStorage: [], databases: [] };

describe("opt-in", () => {
	it("stores nothing and sends nothing before consent, then sends the held events on grant", async () => {
		const { page, sink } = world;
		await createOnPage(
			page,
			world.site,
			options({ consent: { mode: "opt-in" } }),
		);
		const before = await page.evaluate(async () => {
			window.a.page();
			window.a.identify("u1", { plan: "pro" });
			window.a.track("Before consent");
			return { flushed: await window.a.flush(), prefs: window.a.consent.get() };
		});
		expect(before.prefs).toEqual({
			necessary: true,
			analytics: false,
			marketing: false,
		});
		expect(await storage(page)).toEqual(nothing);
		expect(sink.attempts).toHaveLength(0);
		const anonymousId = await page.evaluate(() => window.a.user().anonymousId);

		await page.evaluate(() => {
			window.a.consent.set({ analytics: true });
			return window.a.flush();
		});
		const events = sink.events();
		expect(events.map((e) => e.event ?? e.type)).toEqual([
			"page",
			"identify",
			"Before consent",
			"Segment Consent Preference Updated",
		]);
		for (const event of events) {
			expect(event.anonymousId).toBe(anonymousId);
			expect(event.context.consent.categoryPreferences).toEqual({
				necessary: true,
				analytics: true,
				marketing: false,
			});
		}
		const after = await storage(page);
		expect(after.cookies).toEqual(["conduit_v1_aid", "conduit_v1_uid"]);
		expect(after.localStorage).toEqual([
			"conduit:v1:aid",
			"conduit:v1:consent",
			"conduit:v1:traits",
			"conduit:v1:uid",
		]);
		// The grant outlives the visit: the next page load tracks straight away.
		await page.reload();
		await createOnPage(
			page,
			world.site,
			options({ consent: { mode: "opt-in" } }),
		);
		expect(await page.evaluate(() => window.a.user())).toMatchObject({
			anonymousId,
			userId: "u1",
		});
	});

	it("drops the held events on denial and still stores nothing", async () => {
		const { page, sink } = world;
		await createOnPage(
			page,
			world.site,
			options({ consent: { mode: "opt-in" } }),
		);
		await page.evaluate(() => {
			window.a.track("Never sent");
			window.a.consent.set({ analytics: false, marketing: false });
			window.a.track("Not after denial either");
			return window.a.flush();
		});
		expect(sink.events().map((e) => e.event)).toEqual([
			"Segment Consent Preference Updated",
		]);
		expect(sink.events()[0]?.context.consent.categoryPreferences).toEqual({
			necessary: true,
			analytics: false,
			marketing: false,
		});
		expect(await storage(page)).toEqual(nothing);
	});

	it("holds a bounded number of events, dropping the oldest", async () => {
		const { page, sink } = world;
		await createOnPage(
			page,
			world.site,
			options({ consent: { mode: "opt-in", hold: 2 } }),
		);
		const errors = await page.evaluate(async () => {
			for (const name of ["One", "Two", "Three"]) window.a.track(name);
			window.a.consent.set({ analytics: true });
			await window.a.flush();
			return window.log.errors;
		});
		expect(errors).toEqual([{ code: "overflow", count: 1 }]);
		expect(sink.events().map((e) => e.event)).toEqual([
			"Two",
			"Three",
			"Segment Consent Preference Updated",
		]);
	});
});

describe("Global Privacy Control", () => {
	it("denies marketing until the person grants it, and remembers the grant", async () => {
		const { page, sink, context } = world;
		await context.addInitScript(() =>
			Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {
				get: () => true,
			}),
		);
		await createOnPage(page, world.site, options());
		await page.evaluate(() => {
			window.a.track("With GPC");
			window.a.consent.set({ marketing: true });
			window.a.track("After the grant");
			return window.a.flush();
		});
		const marketing = sink
			.events()
			.map((e) => [e.event, e.context.consent.categoryPreferences.marketing]);
		expect(marketing).toEqual([
			["With GPC", false],
			["Segment Consent Preference Updated", true],
			["After the grant", true],
		]);
		await page.reload();
		await createOnPage(page, world.site, options());
		expect(await page.evaluate(() => window.a.consent.get().marketing)).toBe(
			true,
		);
	});
});

describe("withdrawal", () => {
	it("removes the cookies and stored IDs and purges stored events", async () => {
		const { page, sink } = world;
		await createOnPage(page, world.site, options());
		sink.down = true;
		const stored = await page.evaluate(async () => {
			window.a.identify("u1");
			window.a.track("Queued while offline");
			return window.a.flush();
		});
		expect(stored).toBe(false);
		expect(await storedEvents(page)).toBe(2);
		expect((await storage(page)).cookies).toEqual([
			"conduit_v1_aid",
			"conduit_v1_uid",
		]);

		await page.evaluate(() => window.a.consent.set({ analytics: false }));
		expect(await storedEvents(page)).toBe(0);
		expect(await storage(page)).toMatchObject({
			cookies: [],
			// Opt-out mode: the withdrawal itself must outlive the visit.
			localStorage: ["conduit:v1:consent"],
		});

		sink.down = false;
		await page.evaluate(() => {
			window.a.track("After withdrawal");
			return window.a.flush();
		});
		expect(sink.events().map((e) => e.event)).toEqual([
			"Segment Consent Preference Updated",
		]);
		await page.reload();
		await createOnPage(page, world.site, options());
		expect(await page.evaluate(() => window.a.consent.get().analytics)).toBe(
			false,
		);
		expect((await storage(page)).cookies).toEqual([]);
	});
});
