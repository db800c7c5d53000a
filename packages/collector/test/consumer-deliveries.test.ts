import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyed } from "../src/delivery/batch-key";
import type { DeadLetter } from "../src/delivery/dead-letter";
import type { DeliveryMessage } from "../src/delivery/messages";
import type { DeliveryItem } from "../src/destinations/types";
import {
	batchesOf,
	consumeDeliveryMessages,
	failuresOf,
	item,
	received,
	script,
	tenant,
	testConfig,
	vendorUrl,
} from "./delivery-helpers";
import { useConfig } from "./helpers";

/** The Worker's env with a dead-letter queue that also records what it is sent. */
function recordingEnv(): { env: Env; letters: DeadLetter[] } {
	const letters: DeadLetter[] = [];
	const dlq = {
		async send(body: DeadLetter) {
			letters.push(body);
			await env.DELIVERIES_DLQ.send(body);
		},
		async sendBatch(messages: Iterable<MessageSendRequest<DeadLetter>>) {
			const list = [...messages];
			letters.push(...list.map((m) => m.body));
			await env.DELIVERIES_DLQ.sendBatch(list);
		},
	} as unknown as Queue;
	return { env: { ...env, DELIVERIES_DLQ: dlq }, letters };
}

/**
 * Runs the DELIVERIES consumer on messages and returns what it acked and retried, with the
 * retry delays. (cloudflare:test's createMessageBatch/getQueueResult would do, but its result
 * leaves out each retry's delaySeconds, which these tests check.)
 */
async function consume(
	messages: DeliveryMessage[],
	withEnv: Env = env,
	attempts = 1,
) {
	const { acks, retries } = await consumeDeliveryMessages(
		messages,
		attempts,
		withEnv,
	);
	return { explicitAcks: acks, retryMessages: retries };
}

const webhook = (
	id: string,
	key: string,
	extra: Record<string, unknown> = {},
) => ({
	id,
	type: "webhook",
	retry: { maxAttempts: 2, baseDelaySeconds: 10, maxDelaySeconds: 60 },
	settings: { url: `${vendorUrl("webhook", key)}/in` },
	...extra,
});

/** A DELIVERIES message as fan-out queues it: keyed by its events. */
async function message(
	destinationId: string,
	items: DeliveryItem[],
): Promise<DeliveryMessage> {
	const [keyedMessage] = await keyed(
		[{ kind: "events", destinationId, items }],
		"content",
	);
	if (!keyedMessage) throw new Error("keyed returned no message");
	return keyedMessage;
}

/** The message ids of the events each webhook request carried. */
async function sentIds(key: string): Promise<string[][]> {
	return (await received("webhook", key)).map((r) =>
		(r.body as { data: { events: { messageId: string }[] } }).data.events.map(
			(e) => e.messageId,
		),
	);
}

/** 10:00:ss on a fixed day: the time of an event whose place in the order matters. */
const at = (second: number) =>
	`2026-11-24T10:00:${String(second).padStart(2, "0")}.000Z`;

/** A webhook destination of its own, whose receiver answers its first request 503. */
async function hookRefusingOnce(): Promise<{ key: string; id: string }> {
	const key = tenant();
	const id = `h-${key}`;
	await useConfig(testConfig([webhook(id, key)]));
	await script("webhook", key, [{ status: 503 }]);
	return { key, id };
}

describe("DELIVERIES consumer", () => {
	it("retries only the failing destination's message, after Retry-After", async () => {
		const bad = tenant();
		const good = tenant();
		await useConfig(
			testConfig([webhook(`bad-${bad}`, bad), webhook(`good-${good}`, good)]),
		);
		await script("webhook", bad, [
			{ status: 429, headers: { "retry-after": "17" } },
		]);
		const result = await consume([
			await message(`bad-${bad}`, [item()]),
			await message(`good-${good}`, [item()]),
		]);
		expect(result.retryMessages).toEqual([
			{ msgId: "msg-0", delaySeconds: 17 },
		]);
		expect(result.explicitAcks).toEqual(["msg-1"]);
		expect((await failuresOf(`bad-${bad}`))[0]).toMatchObject({
			status: "retrying",
			attempts: 1,
			last_status: 429,
		});
		expect((await batchesOf(`bad-${bad}`))[0]).toMatchObject({
			status: "retrying",
			attempts: 1,
		});
		expect((await batchesOf(`good-${good}`))[0]).toMatchObject({
			status: "done",
			delivered: 1,
			body: null,
		});
	});

	it("dead-letters a 4xx with the response body and acks the message", async () => {
		const key = tenant();
		await useConfig(testConfig([webhook(`h-${key}`, key)]));
		await script("webhook", key, [
			{ status: 400, body: { error: "bad field 'x'" } },
		]);
		const { env: recording, letters } = recordingEnv();
		const event = item();
		const result = await consume(
			[await message(`h-${key}`, [event])],
			recording,
		);
		expect(result.explicitAcks).toEqual(["msg-0"]);
		expect(result.retryMessages).toEqual([]);
		expect(letters).toEqual([
			expect.objectContaining({
				destinationId: `h-${key}`,
				messageId: event.event.messageId,
				status: "failed",
				attempts: 1,
				lastStatus: 400,
				responseBody: `{"error":"bad field 'x'"}`,
				event: event.event,
			}),
		]);
	});

	it("dead-letters after the configured attempts", async () => {
		const key = tenant();
		await useConfig(testConfig([webhook(`h-${key}`, key)]));
		await script("webhook", key, [{ status: 503 }, { status: 503 }]);
		const { env: recording, letters } = recordingEnv();
		const once = await message(`h-${key}`, [item()]);
		expect((await consume([once], recording)).retryMessages).toHaveLength(1);
		const second = await consume([once], recording, 2);
		expect(second.explicitAcks).toEqual(["msg-0"]);
		expect(letters).toEqual([
			expect.objectContaining({
				status: "dead",
				attempts: 2,
				lastStatus: 503,
				error: expect.stringContaining("gave up after 2 attempts"),
			}),
		]);
		expect((await failuresOf(`h-${key}`))[0]).toMatchObject({
			status: "dead",
			attempts: 2,
		});
		expect((await batchesOf(`h-${key}`))[0]).toMatchObject({
			status: "done",
			attempts: 2,
			delivered: 0,
		});
	});

	it("never sends an event again that the log says was delivered", async () => {
		const key = tenant();
		await useConfig(testConfig([webhook(`h-${key}`, key)]));
		const twice = await message(`h-${key}`, [item(), item()]);
		await consume([twice]);
		const again = await consume([twice]);
		expect(again.explicitAcks).toEqual(["msg-0"]);
		expect(await received("webhook", key)).toHaveLength(1);
		// Two events, one batch row: inserted, then marked done.
		expect(
			(await batchesOf(`h-${key}`)).map((b) => [
				b.events,
				b.delivered,
				b.status,
			]),
		).toEqual([[2, 2, "done"]]);
	});

	it("re-sends only the events that failed when a partly delivered batch comes back", async () => {
		const key = tenant();
		const id = `h-${key}`;
		// One event per request, so one fails while the other is delivered (no ordering, so the
		// second request is not held behind the first).
		await useConfig(
			testConfig([webhook(id, key, { batchSize: 1, ordering: "none" })]),
		);
		await script("webhook", key, [{ status: 503 }]);
		const [failing, passing] = [
			item({ timestamp: "2026-11-24T10:00:00.000Z", userId: `a-${key}` }),
			item({ timestamp: "2026-11-24T10:00:01.000Z", userId: `b-${key}` }),
		];
		const batch = await message(id, [failing, passing]);
		expect((await consume([batch])).retryMessages).toHaveLength(1);
		expect((await failuresOf(id)).map((r) => r.message_id)).toEqual([
			failing.event.messageId,
		]);
		const again = await consume([batch], env, 2);
		expect(again.explicitAcks).toEqual(["msg-0"]);
		expect(await sentIds(key)).toEqual([
			[failing.event.messageId],
			[passing.event.messageId],
			[failing.event.messageId],
		]);
		expect((await failuresOf(id)).map((r) => [r.message_id, r.status])).toEqual(
			[[failing.event.messageId, "delivered"]],
		);
		expect((await batchesOf(id))[0]).toMatchObject({
			status: "done",
			attempts: 2,
			delivered: 2,
		});
		// A copy arriving later still sends nothing.
		await consume([batch], env, 3);
		expect(await received("webhook", key)).toHaveLength(3);
	});

	it("retries a failed request that crossed batches as it was sent: the same events under the same webhook-id, apart from other batches", async () => {
		// The receiver takes the first request but the Worker counts it as failed (a 503 here; a
		// timeout in life), so a receiver deduplicating by webhook-id must see the retry's id.
		const { key, id } = await hookRefusingOnce();
		const [a1, a2, b1, c1] = [1, 3, 2, 4].map((second) =>
			item({ userId: `u${second}-${key}`, timestamp: at(second) }),
		) as [DeliveryItem, DeliveryItem, DeliveryItem, DeliveryItem];
		const [batchA, batchB] = [
			await message(id, [a1, a2]),
			await message(id, [b1]),
		];
		// Both messages in one consumer batch: one request of the three events, refused.
		const first = await consume([batchA, batchB]);
		expect(first.retryMessages).toEqual([]);
		expect(first.explicitAcks).toEqual(["msg-0", "msg-1"]);
		const logged = await batchesOf(id);
		expect(logged.map((b) => [b.events, b.status])).toEqual([
			[2, "done"],
			[1, "done"],
			[3, "pending"],
		]);
		const moved = JSON.parse(logged[2]?.body ?? "{}") as DeliveryMessage;
		expect(
			(await failuresOf(id)).map((r) => [r.message_id, r.status, r.batch_key]),
		).toEqual(
			[a1, a2, b1].map((i) => [
				i.event.messageId,
				"retrying",
				logged[2]?.batch_key,
			]),
		);
		// A redelivered copy of the original messages sends nothing.
		await consume([batchA, batchB], env, 2);
		// The retry comes with a first send of another batch: two requests, the retried one as it was.
		await consume([await message(id, [c1]), moved]);
		const requests = await received("webhook", key);
		expect(await sentIds(key)).toEqual([
			[a1, b1, a2].map((i) => i.event.messageId),
			[a1, b1, a2].map((i) => i.event.messageId),
			[c1.event.messageId],
		]);
		expect(requests[1]?.headers["webhook-id"]).toBe(
			requests[0]?.headers["webhook-id"],
		);
		expect(requests[2]?.headers["webhook-id"]).not.toBe(
			requests[0]?.headers["webhook-id"],
		);
		expect((await failuresOf(id)).map((r) => r.status)).toEqual([
			"delivered",
			"delivered",
			"delivered",
		]);
	});

	it("retries a failed batch that was its request's only one as it is, without a new batch", async () => {
		const { key, id } = await hookRefusingOnce();
		const batch = await message(id, [item(), item()]);
		expect((await consume([batch])).retryMessages).toHaveLength(1);
		expect((await batchesOf(id)).map((b) => [b.events, b.status])).toEqual([
			[2, "retrying"],
		]);
		// Beside a fresh batch, the retried one still goes alone.
		const fresh = await message(id, [item()]);
		await consume([batch, fresh], env, 2);
		const [refused, retried, other] = (await received("webhook", key)).map(
			(r) => r.headers["webhook-id"],
		);
		expect(retried).toBe(refused);
		expect(other).toBeDefined();
		expect(other).not.toBe(refused);
	});

	it("sends a retried batch before first sends beside it, so a person's earlier event still goes first", async () => {
		const { key, id } = await hookRefusingOnce();
		const person = `p-${key}`;
		const earlier = item({ userId: person, timestamp: at(5) });
		const later = item({ userId: person, timestamp: at(10) });
		// Another person's event, older than both: the first sends' group starts earliest.
		const other = item({ userId: `q-${key}`, timestamp: at(1) });
		const retried = await message(id, [earlier]);
		expect((await consume([retried])).retryMessages).toHaveLength(1);
		await consume([await message(id, [other, later]), retried], env, 2);
		expect(await sentIds(key)).toEqual([
			[earlier.event.messageId],
			[earlier.event.messageId],
			[other.event.messageId, later.event.messageId],
		]);
	});

	it("logs a message queued without a batch key one event per batch", async () => {
		const key = tenant();
		const id = `h-${key}`;
		await useConfig(testConfig([webhook(id, key)]));
		const unkeyed: DeliveryMessage = {
			kind: "events",
			destinationId: id,
			items: [item(), item()],
		};
		await consume([unkeyed]);
		await consume([unkeyed]);
		expect(await received("webhook", key)).toHaveLength(1);
		expect(
			(await batchesOf(id)).map((b) => [b.batch_key.split(":")[0], b.events]),
		).toEqual([
			["legacy", 1],
			["legacy", 1],
		]);
	});

	it("holds back a profile's later event while an earlier one is being retried", async () => {
		const key = tenant();
		const id = `h-${key}`;
		await useConfig(testConfig([webhook(id, key)]));
		const profile = { userId: `user-${key}` };
		const earlier = item({ ...profile, timestamp: "2026-11-24T10:00:00.000Z" });
		const later = item({ ...profile, timestamp: "2026-11-24T10:00:05.000Z" });
		const otherPerson = item({
			userId: `other-${key}`,
			timestamp: "2026-11-24T10:00:06.000Z",
		});
		await script("webhook", key, [{ status: 503 }]);
		const earlierBatch = await message(id, [earlier]);
		const first = await consume([earlierBatch]);
		expect(first.retryMessages).toHaveLength(1);
		const laterBatch = await message(id, [later]);
		const second = await consume([
			laterBatch,
			await message(id, [otherPerson]),
		]);
		// Acked, with the held event moved to a batch and message of its own; the other
		// person's went out.
		expect(second.explicitAcks).toEqual(["msg-0", "msg-1"]);
		expect((await failuresOf(id)).map((r) => [r.message_id, r.status])).toEqual(
			[[earlier.event.messageId, "retrying"]],
		);
		const batches = await batchesOf(id);
		expect(
			batches.map((b) => [b.events, b.delivered, b.attempts, b.status]),
		).toEqual([
			[1, 0, 1, "retrying"],
			[1, 0, 0, "done"],
			[1, 1, 1, "done"],
			[1, 0, 0, "pending"],
		]);
		const held = JSON.parse(batches[3]?.body ?? "{}") as DeliveryMessage;
		expect(
			held.kind === "events" && held.items.map((i) => i.event.messageId),
		).toEqual([later.event.messageId]);
		expect(await sentIds(key)).toEqual([
			[earlier.event.messageId],
			[otherPerson.event.messageId],
		]);
		// The earlier event's retry gets through; then a copy of the message the later event
		// came in sends nothing: the later event is its held batch's now.
		await consume([earlierBatch], env, 2);
		expect((await consume([laterBatch], env, 2)).explicitAcks).toEqual([
			"msg-0",
		]);
		expect(await sentIds(key)).toEqual([
			[earlier.event.messageId],
			[otherPerson.event.messageId],
			[earlier.event.messageId],
		]);
	});

	it("does not hold back destinations without per-profile ordering", async () => {
		const key = tenant();
		const id = `h-${key}`;
		await useConfig(testConfig([webhook(id, key, { ordering: "none" })]));
		const profile = { userId: `user-${key}` };
		await script("webhook", key, [{ status: 503 }]);
		await consume([
			await message(id, [
				item({ ...profile, timestamp: "2026-11-24T10:00:00.000Z" }),
			]),
		]);
		await consume([
			await message(id, [
				item({ ...profile, timestamp: "2026-11-24T10:00:05.000Z" }),
			]),
		]);
		expect((await failuresOf(id)).map((r) => r.status)).toEqual(["retrying"]);
		expect((await batchesOf(id)).map((b) => [b.status, b.delivered])).toEqual([
			["retrying", 0],
			["done", 1],
		]);
	});
});
