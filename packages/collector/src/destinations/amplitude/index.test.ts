import { describe, expect, it } from "vitest";
import {
	firstRequest,
	item,
	received,
	sendContext,
	tenant,
	vendorUrl,
} from "../../../test/delivery-helpers";
import { insertId } from "../kit/idempotency";
import { amplitude } from ".";

const settingsFor = (key: string) => ({
	apiKey: { secret: "AMPLITUDE_API_KEY" },
	endpoint: vendorUrl("amplitude", key),
});

describe("amplitude destination", () => {
	it("sends HTTP V2 batches with insert_id, device_id, user_id and $identify user properties", async () => {
		const key = tenant();
		const track = item({ userId: "user_1" });
		const identify = item({
			type: "identify",
			userId: "user_1",
			traits: { plan: "pro" },
		});
		const verdicts = await amplitude.send(
			[track, identify],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok"]);
		const request = await firstRequest("amplitude", key);
		expect(request.violations).toEqual([]);
		const { events } = request.body as { events: Record<string, unknown>[] };
		expect(events[0]).toMatchObject({
			event_type: "Product Viewed",
			user_id: "user_1",
			device_id: "anon_0123456789",
			time: Date.parse(track.event.timestamp),
			insert_id: await insertId("web", track.event.messageId),
			event_properties: { product_id: "prod_1" },
		});
		expect(events[1]).toMatchObject({
			event_type: "$identify",
			user_properties: { $set: { plan: "pro" } },
		});
	});

	it("on a 400 naming events, dead-letters those and sends the rest again at once", async () => {
		const key = tenant();
		// Amplitude refuses ids shorter than 5 characters by default.
		const short = item({ anonymousId: "ab" });
		const verdicts = await amplitude.send(
			[item(), short, item()],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "fatal", "ok"]);
		expect(verdicts[1]).toMatchObject({
			status: 400,
			error: "Amplitude rejected the event: device_id too short",
		});
		const requests = await received("amplitude", key);
		expect(
			requests.map((r) => [
				r.status,
				(r.body as { events: unknown[] }).events.length,
			]),
		).toEqual([
			[400, 3],
			[200, 2],
		]);
	});

	it("deletes a profile's userIds through the User Privacy API, 100 a request", async () => {
		const key = tenant();
		const settings = {
			...settingsFor(key),
			deletion: {
				secretKey: { secret: "AMPLITUDE_SECRET_KEY" },
				endpoint: vendorUrl("amplitude", key),
				requester: "privacy@shop.example",
				deleteFromOrg: true,
			},
		};
		const userIds = Array.from({ length: 150 }, (_, i) => `user_${i}`);
		const verdict = await amplitude.deleteProfile?.(
			{
				id: 1,
				profileId: "p-1",
				identities: [
					{ type: "anonymous_id", value: "anon_0123456789" },
					...userIds.map((value) => ({ type: "user_id", value })),
				],
				requestedAt: "2026-11-24T09:00:00.000Z",
			},
			sendContext(settings),
		);
		expect(verdict).toMatchObject({ outcome: "ok", status: 200 });
		const requests = await received("amplitude", key);
		expect(requests.map((r) => r.violations)).toEqual([[], []]);
		expect(requests.map((r) => r.body)).toEqual([
			{
				user_ids: userIds.slice(0, 100),
				requester: "privacy@shop.example",
				ignore_invalid_ids: true,
				delete_from_org: true,
			},
			{
				user_ids: userIds.slice(100),
				requester: "privacy@shop.example",
				ignore_invalid_ids: true,
				delete_from_org: true,
			},
		]);
	});
});
