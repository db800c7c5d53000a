import { describe, expect, it } from "vitest";
import {
	firstRequest,
	item,
	script,
	sendContext,
	tenant,
	vendorUrl,
} from "../../../test/delivery-helpers";
import { segment } from ".";

const settingsFor = (key: string) => ({
	writeKey: { secret: "SEGMENT_WRITE_KEY" },
	endpoint: vendorUrl("segment", key),
	deletion: {
		token: { secret: "SEGMENT_API_TOKEN" },
		endpoint: vendorUrl("segment", key),
		regulationType: "SUPPRESS_WITH_DELETE" as const,
	},
});

describe("segment destination", () => {
	it("sends /v1/batch with Basic auth and the events unchanged, messageId included", async () => {
		const key = tenant();
		const items = [
			item(),
			item({ type: "identify", traits: { plan: "pro" }, userId: "u1" }),
		];
		const verdicts = await segment.send(items, sendContext(settingsFor(key)));
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok"]);
		const request = await firstRequest("segment", key);
		expect(request.violations).toEqual([]);
		expect(request.url).toBe("/v1/batch");
		expect((request.body as { batch: unknown[] }).batch).toEqual(
			items.map((i) => i.event),
		);
	});

	it("classifies the answer: 5xx retried, 400 fatal with the body kept", async () => {
		const key = tenant();
		await script("segment", key, [
			{ status: 502 },
			{ status: 400, body: { success: false, message: "bad" } },
		]);
		const ctx = sendContext(settingsFor(key));
		expect((await segment.send([item()], ctx))[0]?.outcome).toBe("retry-later");
		expect((await segment.send([item()], ctx))[0]).toMatchObject({
			outcome: "fatal",
			status: 400,
			responseBody: '{"success":false,"message":"bad"}',
		});
	});

	it("fails clearly when the write key secret is not set", async () => {
		const ctx = sendContext({
			...settingsFor(tenant()),
			writeKey: { secret: "NOT_SET_ANYWHERE" },
		});
		await expect(segment.send([item()], ctx)).rejects.toThrow(
			"Worker secret 'NOT_SET_ANYWHERE' is not set",
		);
	});

	it("forwards deletions as a Public API regulation on the profile's userIds", async () => {
		const key = tenant();
		const deletion = {
			id: 3,
			profileId: "p_3",
			identities: [
				{ type: "anonymous_id", value: "a1" },
				{ type: "user_id", value: "u3" },
			],
			requestedAt: "2026-11-20T10:00:00.000Z",
		};
		expect(segment.supportsDeletion?.(settingsFor(key))).toBe(true);
		expect(
			await segment.deleteProfile?.(deletion, sendContext(settingsFor(key))),
		).toMatchObject({ outcome: "ok" });
		const request = await firstRequest("segment", key);
		expect(request.violations).toEqual([]);
		expect(request.body).toEqual({
			regulationType: "SUPPRESS_WITH_DELETE",
			subjectType: "USER_ID",
			subjectIds: ["u3"],
		});
		const anonymousOnly = {
			...deletion,
			identities: [{ type: "anonymous_id", value: "a1" }],
		};
		expect(
			await segment.deleteProfile?.(
				anonymousOnly,
				sendContext(settingsFor(key)),
			),
		).toMatchObject({ outcome: "dropped" });
	});
});
