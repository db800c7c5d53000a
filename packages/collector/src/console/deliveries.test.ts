import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
	deliveriesOfEvent,
	destinationFigures,
	failedDeliveries,
} from "./deliveries";

const T0 = Date.UTC(2026, 11, 1, 12);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

async function row(
	destination: string,
	messageId: string,
	status: string,
	createdMs: number,
	deliveredMs?: number,
	lastError?: string,
) {
	await env.DB.prepare(
		`INSERT INTO deliveries (destination_id, source_id, message_id, event_time, status, attempts, last_status,
		   last_error, created_at, updated_at, next_attempt_at, delivered_at)
		 VALUES (?1, 'web', ?2, ?3, ?4, 1, ?5, ?6, ?3, ?7, ?3, ?8)`,
	)
		.bind(
			destination,
			messageId,
			iso(createdMs),
			status,
			lastError ? 400 : 200,
			lastError ?? null,
			iso(deliveredMs ?? createdMs),
			deliveredMs === undefined ? null : iso(deliveredMs),
		)
		.run();
}

beforeEach(async () => {
	await env.DB.exec("DELETE FROM deliveries");
});

describe("the console's reads of the delivery log", () => {
	it("counts each destination's outcomes and takes the median latency of what was delivered", async () => {
		await row("hooks", "m1", "delivered", 0, 100);
		await row("hooks", "m2", "delivered", 0, 900);
		await row("hooks", "m3", "delivered", 0, 200);
		await row("hooks", "m4", "failed", 0, undefined, "HTTP 400");
		await row("hooks", "m5", "dead", 0, undefined, "HTTP 503");
		await row("hooks", "m6", "retrying", 0);
		await row("ga4", "m1", "delivered", 0, 50);
		await row("ga4", "old", "delivered", -3_600_000, -3_599_000);
		const figures = await destinationFigures(env.DB, iso(-60_000));
		expect(
			figures.sort((a, b) => a.destinationId.localeCompare(b.destinationId)),
		).toEqual([
			{
				destinationId: "ga4",
				delivered: 1,
				failed: 0,
				dead: 0,
				dropped: 0,
				inFlight: 0,
				p50Ms: 50,
			},
			{
				destinationId: "hooks",
				delivered: 3,
				failed: 1,
				dead: 1,
				dropped: 0,
				inFlight: 1,
				p50Ms: 200,
			},
		]);
	});

	it("lists failures with the vendor's answer, newest first, and where one event went", async () => {
		await row("hooks", "m1", "failed", 0, undefined, "HTTP 400: bad");
		await row("hooks", "m2", "failed", 1000, undefined, "HTTP 400: worse");
		await row("hooks", "m3", "delivered", 0, 10);
		const failed = await failedDeliveries(env.DB, "hooks", ["failed"], 10);
		expect(failed.map((f) => [f.messageId, f.lastStatus, f.lastError])).toEqual(
			[
				["m2", 400, "HTTP 400: worse"],
				["m1", 400, "HTTP 400: bad"],
			],
		);
		expect(await deliveriesOfEvent(env.DB, "web", "m3")).toEqual([
			{
				destinationId: "hooks",
				status: "delivered",
				attempts: 1,
				lastStatus: 200,
				lastError: null,
				deliveredAt: iso(10),
			},
		]);
	});
});
