import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../src/event";
import worker from "../src/index";
import { pack } from "../src/ingest/message";
import { lifetimeValueOf, uniqueId, useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";

beforeAll(() => useConfig());

/** Every event in one (source, hour) partition, so one batch writes one object. */
const RECEIVED = "2026-11-01T08:15:00.000Z";

function body(userId: string, messageIds: readonly string[]): string {
	const events = messageIds.map(
		(messageId): EnrichedEvent => ({
			type: "track",
			event: "Order Completed",
			userId,
			messageId,
			timestamp: RECEIVED,
			receivedAt: RECEIVED,
			properties: { revenue: 10 },
			context: {},
		}),
	);
	return (
		pack(
			"web",
			events.map((e) => JSON.stringify(e)),
		)[0] ?? ""
	);
}

/** An R2 binding that writes, then fails: the consumer dies right after its objects are put. */
function crashingAfterPut(real: R2Bucket): R2Bucket {
	return new Proxy(real, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target) as unknown;
			if (prop !== "put" || typeof value !== "function")
				return typeof value === "function" ? value.bind(target) : value;
			return async (...args: unknown[]) => {
				await (value as (...a: unknown[]) => Promise<unknown>).apply(
					target,
					args,
				);
				throw new Error("the isolate died after the put");
			};
		},
	});
}

async function deliver(
	messages: { id: string; body: string; attempts: number }[],
	bindings: Env = env,
) {
	const batch = createMessageBatch<unknown>(
		"conduit-events",
		messages.map((m) => ({ ...m, timestamp: new Date() })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, bindings, ctx);
	return getQueueResult(batch, ctx);
}

async function countsOf(userId: string) {
	const row = await env.DB.prepare(
		`SELECT c.profile_id, c.count FROM identities AS i
JOIN profile_event_counts AS c ON c.profile_id = i.profile_id AND c.type = 'track'
WHERE i.type = 'user_id' AND i.value = ?1`,
	)
		.bind(userId)
		.first<{ profile_id: string; count: number }>();
	return {
		count: row?.count,
		lifetime_value: await lifetimeValueOf(row?.profile_id),
	};
}

describe("events of record across redeliveries", () => {
	it("keeps every event in exactly one object when Queues regroups retried messages", async () => {
		const t = uniqueId("regroup");
		const [a1, a2, b1, c1] = ["a1", "a2", "b1", "c1"].map((n) => `${t}-${n}`);
		const all = [a1, a2, b1, c1] as string[];
		const user = `user-${t}`;
		const A = { id: `qa-${t}`, body: body(user, [a1 as string, a2 as string]) };
		const B = { id: `qb-${t}`, body: body(user, [b1 as string]) };
		const C = { id: `qc-${t}`, body: body(user, [c1 as string]) };

		// Attempt 1 of [A, B] puts one object {a1, a2, b1}, then dies before acknowledging.
		const first = await deliver(
			[
				{ ...A, attempts: 1 },
				{ ...B, attempts: 1 },
			],
			{ ...env, RECORDS: crashingAfterPut(env.RECORDS) },
		);
		expect(first.ackAll).toBe(false);
		const [crashed] = await recordsOf(all);
		const firstKey = crashed?.key ?? "";
		expect((await recordsOf(all)).map((r) => r.event.messageId).sort()).toEqual(
			[a1, a2, b1].sort(),
		);

		// Queues redelivers A with C (another batch, another object name): A's events leave
		// the first object.
		expect(
			(
				await deliver([
					{ ...A, attempts: 2 },
					{ ...C, attempts: 1 },
				])
			).ackAll,
		).toBe(true);
		let records = await recordsOf(all);
		expect(
			records.filter((r) => r.key === firstKey).map((r) => r.event.messageId),
		).toEqual([b1]);

		// Then B alone: the first object is left with nothing and is deleted.
		expect((await deliver([{ ...B, attempts: 2 }])).ackAll).toBe(true);
		records = await recordsOf(all);
		expect(records.map((r) => r.event.messageId).sort()).toEqual(
			[...all].sort(),
		);
		expect(new Set(records.map((r) => r.key)).size).toBe(2);
		expect(await env.RECORDS.head(firstKey)).toBeNull();

		// Identity counted each event once, whatever the attempts (4 events of 10 each).
		expect(await countsOf(user)).toEqual({ count: 4, lifetime_value: 40 });

		// A late redelivery of a finished message changes nothing.
		expect((await deliver([{ ...A, attempts: 3 }])).ackAll).toBe(true);
		expect((await recordsOf(all)).length).toBe(4);
		expect(await countsOf(user)).toEqual({ count: 4, lifetime_value: 40 });
	});
});
