import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { deniedCategory } from "./consent";

const noDefaults = { defaults: {}, gpcDenies: ["marketing"] };
function withConsent(
	preferences: Record<string, boolean> | undefined,
	gpc = false,
): EnrichedEvent {
	const context: Record<string, unknown> = preferences
		? { consent: { categoryPreferences: preferences } }
		: {};
	if (gpc) context.gpc = true;
	return {
		type: "track",
		event: "E",
		messageId: "m",
		userId: "u",
		timestamp: "t",
		receivedAt: "t",
		context,
	};
}

describe("deniedCategory", () => {
	it("lets everything through to a destination that requires nothing", () => {
		expect(
			deniedCategory([], withConsent(undefined, true), noDefaults),
		).toBeUndefined();
	});

	it("requires every listed category to be granted", () => {
		const event = withConsent({ analytics: true, marketing: false });
		expect(deniedCategory(["analytics"], event, noDefaults)).toBeUndefined();
		expect(deniedCategory(["analytics", "marketing"], event, noDefaults)).toBe(
			"marketing",
		);
	});

	it("denies what the event does not mention unless the source's default grants it", () => {
		const event = withConsent(undefined);
		expect(deniedCategory(["analytics"], event, noDefaults)).toBe("analytics");
		expect(
			deniedCategory(["analytics"], event, {
				defaults: { analytics: true },
				gpcDenies: [],
			}),
		).toBeUndefined();
		// An explicit refusal beats a granting default.
		expect(
			deniedCategory(["analytics"], withConsent({ analytics: false }), {
				defaults: { analytics: true },
				gpcDenies: [],
			}),
		).toBe("analytics");
	});

	it("treats Sec-GPC: 1 as marketing denied, even when the banner said yes", () => {
		const event = withConsent({ analytics: true, marketing: true }, true);
		expect(deniedCategory(["marketing"], event, noDefaults)).toBe("marketing");
		expect(deniedCategory(["analytics"], event, noDefaults)).toBeUndefined();
	});
});
