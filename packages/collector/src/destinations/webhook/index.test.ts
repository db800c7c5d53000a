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
import { webhook } from ".";

describe("webhook destination", () => {
	it("POSTs a Standard Webhooks message the receiver verifies, with custom headers", async () => {
		const key = tenant();
		const items = [item(), item()];
		const settings = {
			url: `${vendorUrl("webhook", key)}/in`,
			secrets: [{ secret: "WEBHOOK_SECRET" }],
			headers: {
				"x-team": "growth",
				authorization: { secret: "SEGMENT_API_TOKEN" },
			},
		};
		const verdicts = await webhook.send(items, sendContext(settings));
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok"]);
		const request = await firstRequest("webhook", key);
		expect(request.violations).toEqual([]);
		expect(request.headers["x-team"]).toBe("growth");
		expect(request.headers.authorization).toBe("sgp_test_token_0123456789");
		expect(request.headers["webhook-signature"]).toMatch(
			/^v1,[A-Za-z0-9+/]+=*$/,
		);
		expect(request.body).toMatchObject({
			type: "events.batch",
			data: { events: items.map((i) => i.event) },
		});
	});

	it("signs with both secrets during rotation, and the receiver accepts either", async () => {
		const key = tenant();
		const settings = {
			url: `${vendorUrl("webhook", key)}/in`,
			secrets: [
				{ secret: "WEBHOOK_SECRET" },
				{ secret: "WEBHOOK_SECRET_NEXT" },
			],
			headers: {},
		};
		expect(
			(await webhook.send([item()], sendContext(settings)))[0]?.outcome,
		).toBe("ok");
		const request = await firstRequest("webhook", key);
		expect(request.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
		expect(request.violations).toEqual([]);
	});

	it("keeps webhook-id across a retry of the same batch", async () => {
		const key = tenant();
		const items = [item(), item()];
		const settings = {
			url: `${vendorUrl("webhook", key)}/in`,
			secrets: [],
			headers: {},
		};
		await script("webhook", key, [{ status: 503 }]);
		expect((await webhook.send(items, sendContext(settings)))[0]?.outcome).toBe(
			"retry-later",
		);
		expect((await webhook.send(items, sendContext(settings)))[0]?.outcome).toBe(
			"ok",
		);
		const [first, second] = await received("webhook", key);
		expect(first?.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
		expect(second?.headers["webhook-id"]).toBe(first?.headers["webhook-id"]);
	});

	it("asks to disable the destination on 410 Gone", async () => {
		const key = tenant();
		await script("webhook", key, [{ status: 410, body: { error: "gone" } }]);
		const [verdict] = await webhook.send(
			[item()],
			sendContext(
				{ url: `${vendorUrl("webhook", key)}/in`, secrets: [], headers: {} },
				"hooks",
			),
		);
		expect(verdict).toMatchObject({
			outcome: "fatal",
			status: 410,
			disable: true,
		});
		expect(verdict?.outcome === "fatal" && verdict.error).toContain(
			"destination 'hooks' is disabled",
		);
	});

	it("forwards a profile deletion as a signed profile.deleted message", async () => {
		const key = tenant();
		const settings = {
			url: `${vendorUrl("webhook", key)}/in`,
			secrets: [{ secret: "WEBHOOK_SECRET" }],
			headers: {},
		};
		const deletion = {
			id: 7,
			profileId: "p_1",
			identities: [{ type: "user_id", value: "u1" }],
			requestedAt: "2026-11-20T10:00:00.000Z",
		};
		expect(
			await webhook.deleteProfile?.(deletion, sendContext(settings)),
		).toMatchObject({ outcome: "ok" });
		const request = await firstRequest("webhook", key);
		expect(request.violations).toEqual([]);
		expect(request.body).toMatchObject({
			type: "profile.deleted",
			data: { profileId: "p_1", identities: deletion.identities },
		});
	});
});
