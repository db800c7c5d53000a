import { describe, expect, it } from "vitest";
import {
	logOf,
	postBatch,
	putConfig,
	received,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	waitFor,
} from "./helpers";
import { TEST_PUBLIC } from "./vendors/secrets";

describe("fan-out to several destinations", () => {
	it("delivers each event once to every destination, each in its own request shape", async () => {
		const hook = tenant();
		const ph = tenant();
		await putConfig(
			testConfig([
				{
					id: "hooks",
					type: "webhook",
					settings: {
						url: `${vendorUrl("webhook", hook)}/in`,
						secrets: [{ secret: "WEBHOOK_SECRET" }],
					},
				},
				{
					id: "ph",
					type: "posthog",
					settings: {
						apiKey: TEST_PUBLIC.posthogApiKey,
						endpoint: vendorUrl("posthog", ph),
					},
				},
			]),
		);
		const events = [trackEvent(), trackEvent({ event: "Signed Up" })];
		const response = await postBatch(events);
		expect(response.status).toBe(200);
		const hooks = await waitFor(async () => {
			const rows = await logOf("hooks");
			return (
				rows.length === 2 && rows.every((r) => r.status === "delivered") && rows
			);
		});
		expect(hooks).toHaveLength(2);
		await waitFor(
			async () =>
				(await logOf("ph")).filter((r) => r.status === "delivered").length ===
				2,
		);
		const hookRequests = await received("webhook", hook);
		expect(hookRequests.flatMap((r) => r.violations)).toEqual([]);
		const sent = hookRequests.flatMap((r) =>
			(r.body as { data: { events: { messageId: string }[] } }).data.events.map(
				(e) => e.messageId,
			),
		);
		expect(sent.sort()).toEqual(events.map((e) => e.messageId).sort());
		const phRequests = await received("posthog", ph);
		expect(phRequests.flatMap((r) => r.violations)).toEqual([]);
		expect(
			phRequests.flatMap((r) => (r.body as { batch: unknown[] }).batch),
		).toHaveLength(2);
	});
});
