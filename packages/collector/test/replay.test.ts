import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	adminFetch,
	batchesOf,
	deliveredCount,
	failuresOf,
	postBatch,
	received,
	script,
	testConfig,
	trackEvent,
	useOneAttemptWebhook,
	useSegment,
	useWebhook,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
import { lostDeliveries } from "./helpers/lost-deliveries";
import { recordsOf } from "./helpers/records";

function replay(body: unknown, token?: string) {
	return adminFetch(
		"/admin/replay",
		{ method: "POST", body: JSON.stringify(body) },
		token,
	);
}

/** The events carried by Segment batch requests, in order. */
function segmentEvents(requests: { body: unknown }[]) {
	return requests.flatMap(
		(r) => (r.body as { batch: Record<string, unknown>[] }).batch,
	);
}

/** Three trips through the real queues, each with its 1 s batch window. */
const QUEUE_TEST_MS = 15_000;

describe("replay from the delivery log", () => {
	it("re-sends failed and dead deliveries, and only those, with the same idempotency keys", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const { key, id } = await useOneAttemptWebhook();
		await script("webhook", key, [{ status: 400 }]);
		const failed = trackEvent();
		await postBatch([failed]);
		await waitFor(async () => (await failuresOf(id))[0]?.status === "failed");
		const delivered = trackEvent();
		await postBatch([delivered]);
		await waitFor(async () => (await deliveredCount(id)) === 1);

		const response = await replay({ destination: id, status: ["failed"] });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			success: true,
			replayed: 1,
			missing: 0,
			reenabled: false,
		});
		await waitFor(async () => (await deliveredCount(id)) === 2);
		const requests = await received("webhook", key);
		expect(requests.map((r) => r.status)).toEqual([400, 200, 200]);
		expect(webhookEvents(requests.slice(2)).map((e) => e.messageId)).toEqual([
			failed.messageId,
		]);
		expect(requests[2]?.headers["webhook-id"]).toBe(
			requests[0]?.headers["webhook-id"],
		);
		// Delivered at last: its failure row says so, and a second replay finds nothing.
		expect((await failuresOf(id)).map((r) => r.status)).toEqual(["delivered"]);
		expect(
			(await batchesOf(id)).map((b) => [b.status, b.attempts, b.delivered]),
		).toEqual([
			["done", 1, 0],
			["done", 1, 1],
			["done", 1, 1],
		]);
		expect(
			await (await replay({ destination: id, status: ["failed"] })).json(),
		).toMatchObject({ replayed: 0 });
	});

	it("re-sends pending rows whose message was lost, when asked to", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const { key, id } = await useSegment();
		const [lost] = await lostDeliveries(id, "prof_lost", 1);

		const byDefault = await replay({ destination: id });
		expect(await byDefault.json()).toMatchObject({ replayed: 0 });
		const response = await replay({ destination: id, status: ["pending"] });
		expect(await response.json()).toMatchObject({ replayed: 1, missing: 0 });
		await waitFor(async () => (await deliveredCount(id)) === 1);
		expect(segmentEvents(await received("segment", key))).toEqual([
			expect.objectContaining({
				messageId: lost?.messageId,
				context: { profileId: "prof_lost" },
			}),
		]);
	});

	it("never lets a client's context.profileId reach a destination, by fan-out or replay (issue 9, finding 4)", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const { key, id } = await useSegment({ retry: { maxAttempts: 1 } });
		await script("segment", key, [{ status: 400 }]);
		const forged = { profileId: "prof_forged_by_client" };
		const known = trackEvent({
			userId: `user-${key}`,
			context: { ...(trackEvent().context as object), ...forged },
		});
		// "guest" is never an identifier: this event gets no profile at all.
		const unresolved = trackEvent({
			anonymousId: "guest",
			context: { ...(trackEvent().context as object), ...forged },
		});
		expect((await postBatch([known, unresolved])).status).toBe(200);
		await waitFor(async () => {
			const rows = await failuresOf(id);
			return rows.length === 2 && rows.every((r) => r.status === "failed");
		}, 8000);
		const [resolved] = await recordsOf([String(known.messageId)]);
		expect(resolved?.event.context.profileId).toMatch(/^prof_/);

		expect((await replay({ destination: id, status: ["failed"] })).status).toBe(
			200,
		);
		await waitFor(async () => (await deliveredCount(id)) === 2);
		const requests = await received("segment", key);
		expect(requests.map((r) => r.status)).toEqual([400, 200]);
		for (const request of requests) {
			const profileIds = Object.fromEntries(
				segmentEvents([request]).map((e) => [
					e.messageId,
					(e.context as { profileId?: string }).profileId,
				]),
			);
			expect(profileIds).toEqual({
				[known.messageId as string]: resolved?.event.context.profileId,
				[unresolved.messageId as string]: undefined,
			});
		}
	});

	it("switches a destination disabled by a 410 back on", async () => {
		const { id } = await useWebhook();
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
