import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeadLetter } from "../src/delivery/dead-letter";
import type { DeliveryMessage } from "../src/delivery/messages";
import { consumeDeliveries } from "../src/queues/deliveries";
import {
	item,
	logOf,
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
	const result = {
		explicitAcks: [] as string[],
		retryMessages: [] as { msgId: string; delaySeconds?: number }[],
	};
	const batch = {
		queue: "conduit-deliveries",
		messages: messages.map((body, i) => ({
			id: `msg-${i}`,
			timestamp: new Date(),
			attempts,
			body,
			ack: () => result.explicitAcks.push(`msg-${i}`),
			retry: (options?: QueueRetryOptions) =>
				result.retryMessages.push({ msgId: `msg-${i}`, ...options }),
		})),
		ackAll: () => {
			throw new Error("the consumer settles each message on its own");
		},
		retryAll: () => {
			throw new Error("the consumer settles each message on its own");
		},
	} as unknown as MessageBatch<DeliveryMessage>;
	await consumeDeliveries(batch, withEnv);
	return result;
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
			{ kind: "events", destinationId: `bad-${bad}`, items: [item()] },
			{ kind: "events", destinationId: `good-${good}`, items: [item()] },
		]);
		expect(result.retryMessages).toEqual([
			{ msgId: "msg-0", delaySeconds: 17 },
		]);
		expect(result.explicitAcks).toEqual(["msg-1"]);
		expect((await logOf(`bad-${bad}`))[0]).toMatchObject({
			status: "retrying",
			attempts: 1,
			last_status: 429,
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
			[{ kind: "events", destinationId: `h-${key}`, items: [event] }],
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
		const message: DeliveryMessage = {
			kind: "events",
			destinationId: `h-${key}`,
			items: [item()],
		};
		expect((await consume([message], recording)).retryMessages).toHaveLength(1);
		const second = await consume([message], recording, 2);
		expect(second.explicitAcks).toEqual(["msg-0"]);
		expect(letters).toEqual([
			expect.objectContaining({
				status: "dead",
				attempts: 2,
				lastStatus: 503,
				error: expect.stringContaining("gave up after 2 attempts"),
			}),
		]);
		expect((await logOf(`h-${key}`))[0]).toMatchObject({
			status: "dead",
			attempts: 2,
		});
	});

	it("never sends an event again that the log says was delivered", async () => {
		const key = tenant();
		await useConfig(testConfig([webhook(`h-${key}`, key)]));
		const message: DeliveryMessage = {
			kind: "events",
			destinationId: `h-${key}`,
			items: [item(), item()],
		};
		await consume([message]);
		const again = await consume([message]);
		expect(again.explicitAcks).toEqual(["msg-0"]);
		expect(await received("webhook", key)).toHaveLength(1);
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
		const first = await consume([
			{ kind: "events", destinationId: id, items: [earlier] },
		]);
		expect(first.retryMessages).toHaveLength(1);
		const second = await consume([
			{ kind: "events", destinationId: id, items: [later, otherPerson] },
		]);
		// Acked, with the held event queued again in a new message; the other person's went out.
		expect(second.explicitAcks).toEqual(["msg-0"]);
		const rows = await logOf(id);
		expect(rows.map((r) => [r.message_id, r.status])).toEqual([
			[earlier.event.messageId, "retrying"],
			[later.event.messageId, "pending"],
			[otherPerson.event.messageId, "delivered"],
		]);
		const sent = (await received("webhook", key)).map((r) =>
			(r.body as { data: { events: { messageId: string }[] } }).data.events.map(
				(e) => e.messageId,
			),
		);
		expect(sent).toEqual([
			[earlier.event.messageId],
			[otherPerson.event.messageId],
		]);
	});

	it("does not hold back destinations without per-profile ordering", async () => {
		const key = tenant();
		const id = `h-${key}`;
		await useConfig(testConfig([webhook(id, key, { ordering: "none" })]));
		const profile = { userId: `user-${key}` };
		await script("webhook", key, [{ status: 503 }]);
		await consume([
			{
				kind: "events",
				destinationId: id,
				items: [item({ ...profile, timestamp: "2026-11-24T10:00:00.000Z" })],
			},
		]);
		await consume([
			{
				kind: "events",
				destinationId: id,
				items: [item({ ...profile, timestamp: "2026-11-24T10:00:05.000Z" })],
			},
		]);
		expect((await logOf(id)).map((r) => r.status)).toEqual([
			"retrying",
			"delivered",
		]);
	});
});
