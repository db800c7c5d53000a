import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	logOf,
	postBatch,
	received,
	script,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import { useConfig } from "./helpers";

function replay(
	body: unknown,
	token = "test-admin-token-0123456789abcdefghij",
) {
	return exports.default.fetch("http://collector.test/admin/replay", {
		method: "POST",
		headers: {
			"content-type": "application/json",
			authorization: `Bearer ${token}`,
		},
		body: JSON.stringify(body),
	});
}

/** Three trips through the real queues, each with its 1 s batch window. */
const QUEUE_TEST_MS = 15_000;

describe("replay from the delivery log", () => {
	it("re-sends failed and dead deliveries, and only those, with the same idempotency keys", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		const id = `hook-${key}`;
		await useConfig(
			testConfig([
				{
					id,
					type: "webhook",
					retry: { maxAttempts: 1 },
					settings: { url: `${vendorUrl("webhook", key)}/in` },
				},
			]),
		);
		await script("webhook", key, [{ status: 400 }]);
		const failed = trackEvent();
		await postBatch([failed]);
		await waitFor(async () => (await logOf(id))[0]?.status === "failed");
		const delivered = trackEvent();
		await postBatch([delivered]);
		await waitFor(async () => (await logOf(id))[1]?.status === "delivered");

		const response = await replay({ destination: id, status: ["failed"] });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			replayed: 1,
			missing: 0,
			reenabled: false,
		});
		await waitFor(async () =>
			(await logOf(id)).every((r) => r.status === "delivered"),
		);
		const requests = await received("webhook", key);
		expect(requests.map((r) => r.status)).toEqual([400, 200, 200]);
		expect(webhookEvents(requests.slice(2)).map((e) => e.messageId)).toEqual([
			failed.messageId,
		]);
		expect(requests[2]?.headers["webhook-id"]).toBe(
			requests[0]?.headers["webhook-id"],
		);
		expect((await logOf(id))[0]).toMatchObject({
			attempts: 1,
			last_error: null,
		});
	});

	it("switches a destination disabled by a 410 back on", async () => {
		const key = tenant();
		const id = `hook-${key}`;
		await useConfig(
			testConfig([
				{
					id,
					type: "webhook",
					settings: { url: `${vendorUrl("webhook", key)}/in` },
				},
			]),
		);
		await env.DB.prepare(
			"INSERT INTO destination_state (destination_id, disabled_at, reason) VALUES (?1, ?2, '410 Gone')",
		)
			.bind(id, new Date().toISOString())
			.run();
		const body = await (
			await replay({ destination: id, since: new Date().toISOString() })
		).json();
		expect(body).toMatchObject({ replayed: 0, reenabled: true });
		expect(
			await env.DB.prepare(
				"SELECT * FROM destination_state WHERE destination_id = ?1",
			)
				.bind(id)
				.first(),
		).toBeNull();
	});

	it("is guarded by the admin token and validates its input", async () => {
		expect((await replay({ destination: "x" }, "wrong")).status).toBe(401);
		const bad = await replay({ destination: "x", status: ["delivered"] });
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as { message: string }).message).toContain(
			"status.0",
		);
		await useConfig(testConfig([]));
		expect((await replay({ destination: "nope" })).status).toBe(404);
	});
});
