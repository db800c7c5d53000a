import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CRONS } from "../src/cron";
import { STUCK_AFTER_MS } from "../src/delivery/sweep";
import worker from "../src/index";
import {
	batchesOf,
	deliveredCount,
	failuresOf,
	received,
	useSegment,
	waitFor,
} from "./delivery-helpers";
import { lostDeliveries } from "./helpers/lost-deliveries";

const MINUTE = 60_000;

/** Runs the every-minute cron as if it fired `minutesFromNow` from now. */
async function cronAt(minutesFromNow: number) {
	await worker.scheduled(
		createScheduledController({
			cron: CRONS.drainSpool,
			scheduledTime: Date.now() + minutesFromNow * MINUTE,
		}),
		env,
	);
}

describe("the stuck-delivery sweeper", () => {
	it("leaves rows alone until they are stuck, then re-sends them with the resolved profile", {
		timeout: 15_000,
	}, async () => {
		const { key, id } = await useSegment();
		const events = await lostDeliveries(id, "prof_resolved", 2);

		await cronAt(STUCK_AFTER_MS / MINUTE - 1);
		expect(
			(await batchesOf(id)).map((r) => [r.status, r.attempts, r.sweeps]),
		).toEqual([["pending", 0, 0]]);

		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		await waitFor(async () => (await deliveredCount(id)) === 2, 8000);
		const sent = (await received("segment", key)).flatMap(
			(r) =>
				(
					r.body as {
						batch: { messageId: string; context: { profileId?: string } }[];
					}
				).batch,
		);
		expect(sent.map((e) => e.messageId)).toEqual(
			events.map((e) => e.messageId),
		);
		expect(sent.map((e) => e.context.profileId)).toEqual([
			"prof_resolved",
			"prof_resolved",
		]);
		expect(
			(await batchesOf(id)).map((r) => [r.status, r.sweeps, r.body]),
		).toEqual([["done", 1, null]]);
	});

	it("does not take an event held until later for a stuck one", async () => {
		const { id } = await useSegment();
		await lostDeliveries(id, "prof_held", 1);
		await env.DB.prepare(
			"UPDATE delivery_batches SET next_attempt_at = ?1 WHERE destination_id = ?2",
		)
			.bind(new Date(Date.now() + 30 * MINUTE).toISOString(), id)
			.run();
		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		expect(
			(await batchesOf(id)).map((r) => ({
				status: r.status,
				sweeps: r.sweeps,
			})),
		).toEqual([{ status: "pending", sweeps: 0 }]);
	});

	it("gives up on a stuck batch whose message is gone, saying why", async () => {
		const { id } = await useSegment();
		await lostDeliveries(id, "prof_gone", 1);
		await env.DB.prepare(
			"UPDATE delivery_bodies SET body = '{' WHERE batch_id IN (SELECT id FROM delivery_batches WHERE destination_id = ?1)",
		)
			.bind(id)
			.run();
		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		expect((await batchesOf(id))[0]).toMatchObject({
			status: "done",
			last_error: "stuck in pending, and its message is no longer stored",
		});
	});

	it("gives up after its last sweep: the batch's events become dead failure rows, replayable", async () => {
		const { id } = await useSegment();
		const events = await lostDeliveries(id, "prof_lost_for_good", 2);
		await env.DB.prepare(
			"UPDATE delivery_batches SET sweeps = 5 WHERE destination_id = ?1",
		)
			.bind(id)
			.run();
		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		expect((await batchesOf(id))[0]).toMatchObject({
			status: "done",
			body: null,
		});
		const failures = await failuresOf(id);
		expect(failures.map((f) => [f.message_id, f.status])).toEqual(
			events.map((e) => [e.messageId, "dead"]),
		);
		expect(failures[0]?.last_error).toBe(
			"stuck in pending: queued again 5 times without an answer",
		);
		expect(JSON.parse(failures[0]?.payload ?? "{}")).toEqual(events[0]);
	});
});
