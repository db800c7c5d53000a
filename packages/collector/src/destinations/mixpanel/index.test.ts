import { describe, expect, it } from "vitest";
import {
	firstRequest,
	item,
	received,
	script,
	sendContext,
	tenant,
	vendorUrl,
} from "../../../test/delivery-helpers";
import { TEST_PUBLIC } from "../../../test/vendors/secrets";
import { insertId } from "../kit/idempotency";
import { mixpanel } from ".";

const settingsFor = (key: string) => ({
	projectToken: TEST_PUBLIC.mixpanelProjectToken,
	projectId: TEST_PUBLIC.mixpanelProjectId,
	credentials: {
		username: TEST_PUBLIC.mixpanelUsername,
		secret: { secret: "MIXPANEL_SECRET" },
	},
	endpoint: vendorUrl("mixpanel", key),
});

describe("mixpanel destination", () => {
	it("imports events with $insert_id, distinct_id and time in ms; identify becomes a people $set", async () => {
		const key = tenant();
		const track = item({ userId: "u1" });
		const identify = item({
			type: "identify",
			userId: "u1",
			traits: { plan: "pro" },
		});
		const verdicts = await mixpanel.send(
			[track, identify],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok"]);
		const requests = await received("mixpanel", key);
		expect(requests.flatMap((r) => r.violations)).toEqual([]);
		const imported = requests.find((r) => r.url.startsWith("/import"));
		expect(imported?.url).toBe(
			`/import?strict=1&project_id=${TEST_PUBLIC.mixpanelProjectId}`,
		);
		const records = (imported?.body ?? []) as {
			properties: Record<string, unknown>;
		}[];
		expect(records[0]?.properties).toMatchObject({
			time: Date.parse(track.event.timestamp),
			distinct_id: "u1",
			$insert_id: await insertId("web", track.event.messageId),
			$device_id: "anon_0123456789",
			$user_id: "u1",
			product_id: "prod_1",
		});
		const engage = requests.find((r) => r.url.startsWith("/engage"));
		expect(engage?.body).toEqual([
			{
				$token: TEST_PUBLIC.mixpanelProjectToken,
				$distinct_id: "u1",
				$set: { plan: "pro" },
				$ip: "0",
			},
		]);
	});

	it("dead-letters the failed_records of a strict import and counts the rest as delivered", async () => {
		const key = tenant();
		// Mixpanel refuses events dated more than an hour ahead; the collector keeps a client's
		// timestamp when it sent no sentAt to correct it with.
		const future = item({
			timestamp: new Date(Date.now() + 3 * 3600_000).toISOString(),
		});
		const verdicts = await mixpanel.send(
			[item(), future, item()],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "fatal", "ok"]);
		expect(verdicts[1]).toMatchObject({
			status: 400,
			error: expect.stringContaining("properties.time"),
		});
		const request = await firstRequest("mixpanel", key);
		expect(request.status).toBe(400);
		expect(request.violations).toEqual([]);
	});

	it("retries the whole request on 429 and honours Retry-After", async () => {
		const key = tenant();
		await script("mixpanel", key, [
			{
				status: 429,
				headers: { "retry-after": "17" },
				body: { error: "rate limited" },
			},
		]);
		const verdicts = await mixpanel.send(
			[item(), item()],
			sendContext(settingsFor(key)),
		);
		expect(verdicts).toEqual([
			expect.objectContaining({
				outcome: "retry-later",
				status: 429,
				retryAfterSeconds: 17,
			}),
			expect.objectContaining({
				outcome: "retry-later",
				status: 429,
				retryAfterSeconds: 17,
			}),
		]);
	});

	it("drops alias and group with a reason", async () => {
		const verdicts = await mixpanel.send(
			[
				item({ type: "alias", previousId: "a" }),
				item({ type: "group", groupId: "g" }),
			],
			sendContext(settingsFor(tenant())),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["dropped", "dropped"]);
	});
});
