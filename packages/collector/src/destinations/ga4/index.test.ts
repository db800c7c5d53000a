import { describe, expect, it } from "vitest";
import {
	firstRequest,
	item,
	received,
	sendContext,
	tenant,
	vendorUrl,
} from "../../../test/delivery-helpers";
import { TEST_PUBLIC } from "../../../test/vendors/secrets";
import { ga4 } from ".";

const settingsFor = (key: string) => ({
	measurementId: TEST_PUBLIC.ga4MeasurementId,
	apiSecret: { secret: "GA4_API_SECRET" },
	endpoint: vendorUrl("ga4", key),
});

describe("ga4 destination", () => {
	it("sends Measurement Protocol requests per client, at most 25 events each", async () => {
		const key = tenant();
		const mine = Array.from({ length: 30 }, () =>
			item({ anonymousId: "client_a", userId: "u1" }),
		);
		const other = item({ anonymousId: "client_b" });
		const verdicts = await ga4.send(
			[...mine, other],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.every((v) => v.outcome === "ok")).toBe(true);
		const requests = await received("ga4", key);
		expect(requests.flatMap((r) => r.violations)).toEqual([]);
		const bodies = requests.map(
			(r) =>
				r.body as {
					client_id: string;
					user_id?: string;
					events: { name: string; timestamp_micros: number }[];
				},
		);
		expect(
			bodies.map((b) => [b.client_id, b.user_id, b.events.length]),
		).toEqual([
			["client_a", "u1", 25],
			["client_a", "u1", 5],
			["client_b", undefined, 1],
		]);
		expect(bodies[0]?.events[0]?.name).toBe("view_item");
		expect(bodies[0]?.events[0]?.timestamp_micros).toBe(
			Date.parse(mine[0]?.event.timestamp ?? "") * 1000,
		);
		expect(requests[0]?.url).toBe(
			`/mp/collect?measurement_id=${TEST_PUBLIC.ga4MeasurementId}&api_secret=ga4_test_secret_0123`,
		);
	});

	it("drops what breaks GA4's limits and sends the rest", async () => {
		const key = tenant();
		const verdicts = await ga4.send(
			[
				item({
					event: "Order Completed",
					properties: { order_id: "o1", revenue: 5, currency: "EUR" },
				}),
				item({ event: "Bad-Name!".repeat(6) }),
				item({ type: "identify", traits: {} }),
			],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual([
			"ok",
			"dropped",
			"dropped",
		]);
		const request = await firstRequest("ga4", key);
		expect(request.violations).toEqual([]);
		expect(
			(request.body as { events: { name: string }[] }).events.map(
				(e) => e.name,
			),
		).toEqual(["purchase"]);
	});

	it("passes marketing consent on as GA4 consent signals", async () => {
		const key = tenant();
		await ga4.send(
			[
				item({
					context: {
						gpc: true,
						consent: { categoryPreferences: { marketing: true } },
					},
				}),
			],
			sendContext(settingsFor(key)),
		);
		const request = await firstRequest("ga4", key);
		expect((request.body as { consent: unknown }).consent).toEqual({
			ad_user_data: "DENIED",
			ad_personalization: "DENIED",
		});
	});
});
