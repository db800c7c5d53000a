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
import { uuidFor } from "../kit/idempotency";
import { posthog } from ".";

const settingsFor = (key: string) => ({
	apiKey: TEST_PUBLIC.posthogApiKey,
	endpoint: vendorUrl("posthog", key),
});

describe("posthog destination", () => {
	it("sends /batch/ with api_key and a uuid per event; identify as $identify with $set", async () => {
		const key = tenant();
		const page = item({ type: "page", name: "Home" });
		const identify = item({
			type: "identify",
			userId: "u1",
			traits: { plan: "pro" },
		});
		const alias = item({ type: "alias", userId: "u1", previousId: "old" });
		const verdicts = await posthog.send(
			[page, identify, alias],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok", "ok"]);
		const request = await firstRequest("posthog", key);
		expect(request.violations).toEqual([]);
		const { batch } = request.body as { batch: Record<string, unknown>[] };
		expect(batch[0]).toMatchObject({
			event: "$pageview",
			uuid: await uuidFor("web", page.event.messageId),
			properties: {
				distinct_id: "anon_0123456789",
				$current_url: "https://shop.example.com/p/1",
			},
		});
		expect(batch[1]).toMatchObject({
			event: "$identify",
			properties: {
				distinct_id: "u1",
				$anon_distinct_id: "anon_0123456789",
				$set: { plan: "pro" },
			},
		});
		expect(batch[2]).toMatchObject({
			event: "$create_alias",
			properties: { distinct_id: "u1", alias: "old" },
		});
	});

	it("halves a batch the server finds too large; a single event still too large is fatal", async () => {
		const key = tenant();
		await script("posthog", key, [
			{ status: 413 },
			{ status: 413 },
			{ status: 413 },
		]);
		const verdicts = await posthog.send(
			[item(), item(), item(), item()],
			sendContext(settingsFor(key)),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["fatal", "ok", "ok", "ok"]);
		expect(verdicts[0]).toMatchObject({
			status: 413,
			error: expect.stringContaining("event too large"),
		});
		const sizes = (await received("posthog", key)).map(
			(r) => (r.body as { batch: unknown[] }).batch.length,
		);
		expect(sizes).toEqual([4, 2, 1, 1, 2]);
	});

	it("treats an invalid project key as fatal", async () => {
		const [verdict] = await posthog.send(
			[item()],
			sendContext({
				apiKey: "phc_wrong",
				endpoint: vendorUrl("posthog", tenant()),
			}),
		);
		expect(verdict).toMatchObject({ outcome: "fatal", status: 401 });
	});
});
