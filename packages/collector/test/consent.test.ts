import { describe, expect, it } from "vitest";
import {
	batchesOf,
	deliveredCount as delivered,
	failuresOf,
	postBatch,
	received,
	tenant,
	testConfig,
	vendorUrl,
	waitFor,
} from "./delivery-helpers";
import { freshFixtures, grantsMarketing } from "./fixtures";
import { useConfig } from "./helpers";
import { TEST_PUBLIC } from "./vendors/secrets";

/** Destination ids carry the test's tenant, so each test reads only its own log rows. */
function destinations(keys: { hook: string; ga: string; mp: string }) {
	return [
		{
			id: `hook-${keys.hook}`,
			type: "webhook",
			consent: ["analytics"],
			settings: { url: `${vendorUrl("webhook", keys.hook)}/in` },
		},
		{
			id: `ga-${keys.ga}`,
			type: "ga4",
			consent: ["analytics", "marketing"],
			settings: {
				measurementId: TEST_PUBLIC.ga4MeasurementId,
				apiSecret: { secret: "GA4_API_SECRET" },
				endpoint: vendorUrl("ga4", keys.ga),
			},
		},
		{
			id: `mp-${keys.mp}`,
			type: "mixpanel",
			consent: ["marketing"],
			settings: {
				projectToken: TEST_PUBLIC.mixpanelProjectToken,
				projectId: TEST_PUBLIC.mixpanelProjectId,
				credentials: {
					username: TEST_PUBLIC.mixpanelUsername,
					secret: { secret: "MIXPANEL_SECRET" },
				},
				endpoint: vendorUrl("mixpanel", keys.mp),
			},
		},
	];
}

async function deliveredCount(
	destinationId: string,
	expected: number,
): Promise<boolean> {
	const dropped = (await failuresOf(destinationId)).filter(
		(r) => r.status === "dropped",
	);
	return (await delivered(destinationId)) + dropped.length === expected;
}

// Each test runs events through the real queues, consumers and vendor servers: on a loaded
// machine that takes seconds, so the waits are those of the other pipeline tests.
const PIPELINE_MS = 15_000;

describe("consent gating", { timeout: 2 * PIPELINE_MS }, () => {
	it("keeps marketing-denied events from ga4 and mixpanel while the analytics webhook gets everything", async () => {
		const keys = { hook: tenant(), ga: tenant(), mp: tenant() };
		await useConfig(testConfig(destinations(keys)));
		const denied = freshFixtures((e) => !grantsMarketing(e), 40, keys.hook);
		const granted = freshFixtures(grantsMarketing, 20, keys.ga);
		expect((await postBatch([...denied, ...granted])).status).toBe(200);

		await waitFor(() => deliveredCount(`hook-${keys.hook}`, 60), PIPELINE_MS);
		await waitFor(() => deliveredCount(`ga-${keys.ga}`, 20), PIPELINE_MS);
		await waitFor(() => deliveredCount(`mp-${keys.mp}`, 20), PIPELINE_MS);
		// Events routed, as the batches count them: the 20 granted ones only, so no denied one.
		const routed = async (id: string) =>
			(await batchesOf(id)).reduce((n, b) => n + b.events, 0);
		expect(await routed(`ga-${keys.ga}`)).toBe(20);
		expect(await routed(`mp-${keys.mp}`)).toBe(20);

		const hookEvents = (await received("webhook", keys.hook)).flatMap(
			(r) =>
				(r.body as { data: { events: { messageId: string }[] } }).data.events,
		);
		expect(hookEvents.map((e) => e.messageId).sort()).toEqual(
			[...denied, ...granted].map((e) => e.messageId).sort(),
		);
		const gaRequests = await received("ga4", keys.ga);
		expect(gaRequests.flatMap((r) => r.violations)).toEqual([]);
		const mpRequests = await received("mixpanel", keys.mp);
		expect(mpRequests.flatMap((r) => r.violations)).toEqual([]);
		const mpRecords = mpRequests.flatMap((r) =>
			Array.isArray(r.body) ? r.body : [],
		);
		expect(mpRecords.length).toBeGreaterThan(0);
	});

	it("counts Sec-GPC: 1 as marketing denied, whatever the banner said", async () => {
		const keys = { hook: tenant(), ga: tenant(), mp: tenant() };
		await useConfig(testConfig(destinations(keys)));
		const granted = freshFixtures(grantsMarketing, 10, keys.mp);
		const response = await postBatch(granted, {
			origin: "https://shop.example.com",
			"sec-gpc": "1",
		});
		expect(response.status).toBe(200);
		await waitFor(() => deliveredCount(`hook-${keys.hook}`, 10), PIPELINE_MS);
		const hookEvents = (await received("webhook", keys.hook)).flatMap(
			(r) =>
				(r.body as { data: { events: { context: { gpc?: boolean } }[] } }).data
					.events,
		);
		expect(hookEvents.map((e) => e.context.gpc)).toEqual(Array(10).fill(true));
		expect(await batchesOf(`ga-${keys.ga}`)).toEqual([]);
		expect(await batchesOf(`mp-${keys.mp}`)).toEqual([]);
		expect(await received("ga4", keys.ga)).toEqual([]);
	});
});
