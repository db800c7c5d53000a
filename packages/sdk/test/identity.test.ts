import { describe, expect, it } from "vitest";
import { createOnPage, useBrowser } from "./harness";

// *.shop.test resolves to this machine, so a page can live on a subdomain of a registrable domain.
const world = useBrowser(["--host-resolver-rules=MAP *.shop.test 127.0.0.1"]);
const options = () => ({
	writeKey: world.sink.writeKey,
	endpoint: world.sink.url,
	flushAt: 100,
});
const YEAR_S = 365 * 86_400;

describe("identity", () => {
	it("keeps the IDs in first-party cookies for a year, across reloads and tabs", async () => {
		const { page, context } = world;
		await createOnPage(page, world.site, options());
		const first = await page.evaluate(() => {
			window.a.identify("u1", { plan: "pro" });
			return window.a.user();
		});
		const cookies = await context.cookies();
		expect(cookies.map((c) => c.name).sort()).toEqual([
			"conduit_v1_aid",
			"conduit_v1_uid",
		]);
		for (const cookie of cookies) {
			expect(cookie.sameSite).toBe("Lax");
			expect(cookie.secure).toBe(false); // http page; Secure is added on https
			expect(cookie.expires - Date.now() / 1000).toBeGreaterThan(YEAR_S - 60);
			expect(cookie.expires - Date.now() / 1000).toBeLessThan(YEAR_S + 60);
		}
		expect(cookies.find((c) => c.name === "conduit_v1_aid")?.value).toBe(
			first.anonymousId,
		);

		await page.reload();
		await createOnPage(page, world.site, options());
		expect(await page.evaluate(() => window.a.user())).toEqual(first);

		const other = await context.newPage();
		await createOnPage(other, world.site, options());
		expect(await other.evaluate(() => window.a.user())).toEqual(first);
	});

	it("follows another tab's reset() and identify()", async () => {
		const { page, context } = world;
		const other = await context.newPage();
		await createOnPage(page, world.site, options());
		await createOnPage(other, world.site, options());
		// Both pages have loaded their state (and listen for the other's) before one changes it.
		for (const p of [page, other]) await p.evaluate(() => window.a.user());
		const next = await page.evaluate(() => {
			window.a.reset();
			window.a.identify("u7", { plan: "team" });
			return window.a.user();
		});
		// The other tab learns it from localStorage's storage events, which come one key at a
		// time: the anonymous ID may be in before the traits. Polled on a timer: a tab in the
		// background gets no animation frames.
		await other.waitForFunction(
			(user) => JSON.stringify(window.a.user()) === user,
			JSON.stringify(next),
			{ timeout: 5000, polling: 50 },
		);
		expect(await other.evaluate(() => window.a.user())).toEqual(next);
	});

	it("restores the IDs from the localStorage mirror when cookies were cleared", async () => {
		const { page, context } = world;
		await createOnPage(page, world.site, options());
		const first = await page.evaluate(() => window.a.user().anonymousId);
		await context.clearCookies();
		await page.reload();
		await createOnPage(page, world.site, options());
		expect(await page.evaluate(() => window.a.user().anonymousId)).toBe(first);
		// …and writes the cookie again.
		expect((await context.cookies()).map((c) => c.value)).toContain(first);
	});

	it("reset() rotates the anonymous ID and forgets the user", async () => {
		const { page, context, sink } = world;
		await createOnPage(page, world.site, options());
		const [before, after] = await page.evaluate(async () => {
			window.a.identify("u1", { plan: "pro" });
			const before = window.a.user();
			window.a.reset();
			window.a.track("After reset");
			await window.a.flush();
			return [before, window.a.user()];
		});
		expect(after.anonymousId).not.toBe(before.anonymousId);
		expect(after).toEqual({
			anonymousId: after.anonymousId,
			userId: null,
			traits: {},
		});
		const last = sink.events().at(-1);
		expect(last).toMatchObject({
			event: "After reset",
			anonymousId: after.anonymousId,
		});
		expect(last?.userId).toBeUndefined();
		expect(last?.context.traits).toBeUndefined();
		expect((await context.cookies()).map((c) => [c.name, c.value])).toEqual([
			["conduit_v1_aid", after.anonymousId],
		]);
	});

	it("sets the cookies on the registrable domain", async () => {
		const { page, context } = world;
		const port = new URL(world.site.url).port;
		await page.goto(`http://www.shop.test:${port}/`);
		await createOnPage(page, world.site, options());
		await page.evaluate(() => window.a.identify("u1"));
		const domains = (await context.cookies()).map((c) => [c.name, c.domain]);
		expect(domains).toEqual([
			["conduit_v1_aid", ".shop.test"],
			["conduit_v1_uid", ".shop.test"],
		]);
	});
});

describe("blocked storage", () => {
	it("falls back to memory and still delivers, with no error in the page", async () => {
		const { page, context, sink } = world;
		await context.addInitScript(() => {
			const blocked = () => {
				throw new DOMException("The operation is insecure.", "SecurityError");
			};
			Object.defineProperty(window, "indexedDB", { get: blocked });
			Object.defineProperty(window, "localStorage", { get: blocked });
			Object.defineProperty(Document.prototype, "cookie", {
				get: blocked,
				set: blocked,
			});
		});
		const pageErrors: string[] = [];
		page.on("pageerror", (error) => pageErrors.push(error.message));
		await createOnPage(page, world.site, options());
		const result = await page.evaluate(async () => {
			window.a.identify("u1");
			window.a.track("In memory");
			window.a.consent.set({ marketing: false });
			const flushed = await window.a.flush();
			return { flushed, user: window.a.user(), errors: window.log.errors };
		});
		expect(result.flushed).toBe(true);
		expect(result.user.userId).toBe("u1");
		expect(result.errors).toEqual([{ code: "storage", count: 0 }]);
		expect(sink.events().map((e) => e.event ?? e.type)).toEqual([
			"identify",
			"In memory",
			"Segment Consent Preference Updated",
		]);
		expect(pageErrors).toEqual([]);
	});
});
