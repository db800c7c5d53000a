import { expect, it } from "vitest";

it("imports and runs outside a browser without touching window (SSR)", async () => {
	expect(typeof window).toBe("undefined");
	const { createAnalytics, SNIPPET } = await import("./index");
	const analytics = createAnalytics({
		writeKey: "wk_test",
		endpoint: "https://collect.example.com",
	});
	analytics.page();
	analytics.track("Rendered on the server");
	analytics.identify("u1", { plan: "pro" });
	analytics.consent.set({ analytics: false });
	expect(await analytics.flush()).toBe(true);
	expect(analytics.user()).toEqual({
		anonymousId: expect.stringMatching(/^[0-9A-Z]{26}$/),
		userId: null,
		traits: {},
	});
	expect(analytics.consent.get()).toEqual({
		necessary: true,
		analytics: true,
		marketing: true,
	});
	expect(SNIPPET).toMatch(/^!function\(w,c\)/);
});
