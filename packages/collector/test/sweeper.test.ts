import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CRONS } from "../src/cron";
import { STUCK_AFTER_MS } from "../src/delivery/sweep";
import worker from "../src/index";
import {
	logOf,
	received,
	tenant,
	testConfig,
	vendorUrl,
	waitFor,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
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

async function segmentDestination() {
	const key = tenant();
	const id = `seg-${key}`;
	await useConfig(
		testConfig([
			{
				id,
				type: "segment",
				settings: {
					writeKey: { secret: "SEGMENT_WRITE_KEY" },
					endpoint: vendorUrl("segment", key),
				},
			},
		]),
	);
	return { key, id };
}

describe("the stuck-delivery sweeper", () => {
	it("leaves rows alone until they are stuck, then re-sends them with the resolved profile", {
		timeout: 15_000,
	}, async () => {
		const { key, id } = await segmentDestination();
		const events = await lostDeliveries(id, "prof_resolved", 2);

		await cronAt(STUCK_AFTER_MS / MINUTE - 1);
		expect((await logOf(id)).map((r) => [r.status, r.attempts])).toEqual([
			["pending", 0],
			["pending", 0],
		]);

		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		const rows = await waitFor(async () => {
			const log = await logOf(id);
			return log.every((r) => r.status === "delivered") && log;
		}, 8000);
		expect(rows).toHaveLength(2);
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
		const sweeps = await env.DB.prepare(
			"SELECT sweeps FROM deliveries WHERE destination_id = ?1",
		)
			.bind(id)
			.all<{ sweeps: number }>();
		expect(sweeps.results).toEqual([{ sweeps: 1 }, { sweeps: 1 }]);
	});

	it("does not take an event held until later for a stuck one", async () => {
		const { id } = await segmentDestination();
		const [held] = await lostDeliveries(id, "prof_held", 1);
		await env.DB.prepare(
			"UPDATE deliveries SET next_attempt_at = ?1 WHERE destination_id = ?2",
		)
			.bind(new Date(Date.now() + 30 * MINUTE).toISOString(), id)
			.run();
		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		expect(
			await env.DB.prepare(
				"SELECT status, sweeps FROM deliveries WHERE message_id = ?1",
			)
				.bind(held?.messageId)
				.first(),
		).toEqual({ status: "pending", sweeps: 0 });
	});

	it("gives up on a stuck row whose event is gone, saying why", async () => {
		const { id } = await segmentDestination();
		await lostDeliveries(id, "prof_gone", 1);
		await cronAt(STUCK_AFTER_MS / MINUTE + 1);
		expect((await logOf(id))[0]).toMatchObject({
			status: "dead",
			last_error: "stuck in pending, and its event is no longer stored",
		});
	});
});
