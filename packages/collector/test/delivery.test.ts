import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/routing/mapping";
import {
	batchesOf,
	deliveredCount,
	failuresOf,
	firstRequest,
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
import { recordsOf } from "./helpers/records";
import { TEST_PUBLIC } from "./vendors/secrets";

/** Real queue delays (batch windows of 1 s, retries of ≥ 1 s) make these tests take seconds. */
const QUEUE_TEST_MS = 15_000;
const fast = { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 2 };

const webhookTo = (
	id: string,
	key: string,
	extra: Record<string, unknown> = {},
) => ({
	id,
	type: "webhook",
	retry: fast,
	settings: {
		url: `${vendorUrl("webhook", key)}/in`,
		secrets: [{ secret: "WEBHOOK_SECRET" }],
	},
	...extra,
});

describe("delivery", () => {
	it("fans out to several destinations, each in its own request shape", async () => {
		const hook = tenant();
		const ph = tenant();
		await useConfig(
			testConfig([
				webhookTo(`hook-${hook}`, hook),
				{
					id: `ph-${ph}`,
					type: "posthog",
					settings: {
						apiKey: TEST_PUBLIC.posthogApiKey,
						endpoint: vendorUrl("posthog", ph),
					},
				},
			]),
		);
		const events = [trackEvent(), trackEvent({ event: "Signed Up" })];
		expect((await postBatch(events)).status).toBe(200);
		await waitFor(async () => (await deliveredCount(`hook-${hook}`)) === 2);
		await waitFor(async () => (await deliveredCount(`ph-${ph}`)) === 2);
		const hookRequests = await received("webhook", hook);
		expect(hookRequests.flatMap((r) => r.violations)).toEqual([]);
		expect(
			webhookEvents(hookRequests)
				.map((e) => e.messageId)
				.sort(),
		).toEqual(events.map((e) => e.messageId).sort());
		const phRequests = await received("posthog", ph);
		expect(phRequests.flatMap((r) => r.violations)).toEqual([]);
		expect(
			phRequests.flatMap((r) => (r.body as { batch: unknown[] }).batch),
		).toHaveLength(2);
	});

	it("applies each destination's filters and mapping", async () => {
		const key = tenant();
		await useConfig(
			testConfig([
				webhookTo(`hook-${key}`, key, {
					filters: {
						types: { include: ["track", "identify"] },
						events: { exclude: ["Debug"] },
						where: [{ path: "properties.price", op: "gte", value: 10 }],
					},
					mapping: {
						events: { "Product Viewed": "viewed" },
						properties: { price: "amount" },
						hash: ["userId"],
						drop: ["context.consent", "properties.currency"],
					},
				}),
			]),
		);
		const kept = trackEvent({ userId: "User-1" });
		const cheap = trackEvent({ properties: { price: 2 } });
		const debug = trackEvent({ event: "Debug" });
		const page = {
			...trackEvent(),
			type: "page",
			name: "Home",
			event: undefined,
		};
		expect((await postBatch([kept, cheap, debug, page])).status).toBe(200);
		await waitFor(async () => (await deliveredCount(`hook-${key}`)) > 0);
		// One batch, of the one event routed.
		expect(
			(await batchesOf(`hook-${key}`)).map((b) => [b.events, b.delivered]),
		).toEqual([[1, 1]]);
		expect(webhookEvents(await received("webhook", key))).toHaveLength(1);
		const [sent] = webhookEvents(await received("webhook", key));
		expect(sent).toMatchObject({
			event: "viewed",
			userId: await sha256Hex("user-1"),
			properties: { product_id: "prod_1", amount: 10 },
		});
		expect(sent?.properties).not.toHaveProperty("currency");
		expect(sent?.context).not.toHaveProperty("consent");
	});

	it("retries a failed send and then delivers it, once", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		await useConfig(testConfig([webhookTo(`hook-${key}`, key)]));
		await script("webhook", key, [{ status: 503, body: { error: "busy" } }]);
		const event = trackEvent();
		await postBatch([event]);
		const [row] = await waitFor(async () => {
			const rows = await batchesOf(`hook-${key}`);
			return rows[0]?.delivered === 1 && rows;
		}, 10_000);
		expect(row).toMatchObject({
			status: "done",
			attempts: 2,
			last_status: 200,
		});
		// Delivered at last: its failure row says so (without the event), and the batch keeps
		// no body.
		expect(row?.body).toBeNull();
		expect(await failuresOf(`hook-${key}`)).toEqual([
			expect.objectContaining({
				status: "delivered",
				attempts: 2,
				payload: null,
			}),
		]);
		const requests = await received("webhook", key);
		expect(requests.map((r) => r.status)).toEqual([503, 200]);
		// Idempotency: the retried message carries the same webhook-id.
		expect(requests[1]?.headers["webhook-id"]).toBe(
			requests[0]?.headers["webhook-id"],
		);
	});

	it("honours Retry-After on 429", { timeout: QUEUE_TEST_MS }, async () => {
		const key = tenant();
		await useConfig(
			testConfig([
				webhookTo(`hook-${key}`, key, {
					retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 1 },
				}),
			]),
		);
		await script("webhook", key, [
			{ status: 429, headers: { "retry-after": "3" } },
		]);
		await postBatch([trackEvent()]);
		await waitFor(
			async () => (await deliveredCount(`hook-${key}`)) === 1,
			10_000,
		);
		const [first, second] = await received("webhook", key);
		// The policy alone would wait 1 s; the server asked for 3.
		expect(
			(second?.receivedAt ?? 0) - (first?.receivedAt ?? 0),
		).toBeGreaterThanOrEqual(2900);
	});

	it("dead-letters a 4xx at once, with the response body, and never retries it", async () => {
		const key = tenant();
		await useConfig(testConfig([webhookTo(`hook-${key}`, key)]));
		await script("webhook", key, [
			{ status: 422, body: { error: "schema mismatch" } },
		]);
		await postBatch([trackEvent()]);
		const [row] = await waitFor(async () => {
			const rows = await failuresOf(`hook-${key}`);
			return rows[0]?.status === "failed" && rows;
		});
		expect(row).toMatchObject({ attempts: 1, last_status: 422 });
		expect((await batchesOf(`hook-${key}`))[0]).toMatchObject({
			status: "done",
			delivered: 0,
		});
		expect(row?.last_error).toContain('{"error":"schema mismatch"}');
		expect(await received("webhook", key)).toHaveLength(1);
	});

	it("keeps delivering to the others, on time and exactly once, while one destination is down", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const down = tenant();
		const upA = tenant();
		const upB = tenant();
		await useConfig(
			testConfig([
				webhookTo(`down-${down}`, down),
				webhookTo(`a-${upA}`, upA),
				{
					id: `b-${upB}`,
					type: "posthog",
					settings: {
						apiKey: TEST_PUBLIC.posthogApiKey,
						endpoint: vendorUrl("posthog", upB),
					},
				},
			]),
		);
		await script("webhook", down, Array(10).fill({ status: 503 }));
		const events = [trackEvent(), trackEvent(), trackEvent()];
		const accepted = Date.now();
		await postBatch(events);
		await waitFor(
			async () =>
				(await deliveredCount(`a-${upA}`)) === 3 &&
				(await deliveredCount(`b-${upB}`)) === 3,
		);
		console.log(
			`the others delivered ${Date.now() - accepted} ms after acceptance`,
		);
		// Wait until the broken destination has been retried at least once more.
		await waitFor(
			async () => (await received("webhook", down)).length >= 2,
			10_000,
		);
		// On time: each of the others' batches went out once, on its first attempt, with nothing
		// waiting for the broken destination's retries.
		for (const id of [`a-${upA}`, `b-${upB}`])
			expect(
				(await batchesOf(id)).map((b) => [b.status, b.attempts, b.delivered]),
			).toEqual([["done", 1, 3]]);
		expect(webhookEvents(await received("webhook", upA))).toHaveLength(3);
		expect(
			(await received("posthog", upB)).flatMap(
				(r) => (r.body as { batch: unknown[] }).batch,
			),
		).toHaveLength(3);
		expect((await failuresOf(`down-${down}`)).map((r) => r.status)).toEqual([
			"retrying",
			"retrying",
			"retrying",
		]);
		expect((await batchesOf(`down-${down}`)).map((b) => b.status)).toEqual([
			"retrying",
		]);
	});

	it("gives an event a missing secret cannot send to the dead letter, saying which secret", async () => {
		const key = tenant();
		await useConfig(
			testConfig([
				{
					id: `seg-${key}`,
					type: "segment",
					settings: {
						writeKey: { secret: "UNSET_WRITE_KEY" },
						endpoint: vendorUrl("segment", key),
					},
				},
			]),
		);
		await postBatch([trackEvent()]);
		const [row] = await waitFor(async () => {
			const rows = await failuresOf(`seg-${key}`);
			return rows[0]?.status === "failed" && rows;
		});
		expect(row?.last_error).toContain(
			"Worker secret 'UNSET_WRITE_KEY' is not set",
		);
		expect(await received("segment", key)).toEqual([]);
	});

	it("disables a webhook that answers 410 and says so in the log", async () => {
		const key = tenant();
		const id = `hook-${key}`;
		await useConfig(testConfig([webhookTo(id, key)]));
		await script("webhook", key, [{ status: 410 }]);
		await postBatch([trackEvent()]);
		const [row] = await waitFor(async () => {
			const rows = await failuresOf(id);
			return rows[0]?.status === "failed" && rows;
		});
		expect(row?.last_error).toContain(
			`410 Gone: the receiver asked to stop; destination '${id}' is disabled`,
		);
		const state = await env.DB.prepare(
			"SELECT reason FROM destination_state WHERE destination_id = ?1",
		)
			.bind(id)
			.first<{ reason: string }>();
		expect(state?.reason).toContain("410 Gone");
		// Later events are no longer routed to it.
		const later = trackEvent();
		await postBatch([later]);
		await waitFor(
			async () => (await recordsOf([String(later.messageId)])).length > 0,
		);
		expect(await batchesOf(id)).toHaveLength(1);
	});

	it("sends the same Mixpanel $insert_id when an event is delivered again", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		await useConfig(
			testConfig([
				{
					id: `mp-${key}`,
					type: "mixpanel",
					retry: fast,
					settings: {
						projectToken: TEST_PUBLIC.mixpanelProjectToken,
						projectId: TEST_PUBLIC.mixpanelProjectId,
						credentials: {
							username: TEST_PUBLIC.mixpanelUsername,
							secret: { secret: "MIXPANEL_SECRET" },
						},
						endpoint: vendorUrl("mixpanel", key),
					},
				},
			]),
		);
		await script("mixpanel", key, [{ status: 500 }]);
		await postBatch([trackEvent(), trackEvent()]);
		await waitFor(
			async () => (await deliveredCount(`mp-${key}`)) === 2,
			10_000,
		);
		const [first, second] = await received("mixpanel", key);
		const ids = (r: typeof first) =>
			((r?.body ?? []) as { properties: { $insert_id: string } }[]).map(
				(e) => e.properties.$insert_id,
			);
		expect(ids(first)).toHaveLength(2);
		expect(ids(second)).toEqual(ids(first));
		expect((await firstRequest("mixpanel", key)).status).toBe(500);
	});
});
