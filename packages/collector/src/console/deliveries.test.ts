import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
	deliveriesOfEvent,
	destinationFigures,
	failedDeliveries,
} from "./deliveries";

const T0 = Date.UTC(2026, 11, 1, 12);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

/** A batch of `events` to `destination`, `delivered` of them taken, settled after `settleMs`. */
async function batch(
	destination: string,
	key: string,
	events: number,
	delivered: number,
	status: string,
	createdMs: number,
	settleMs?: number,
	body?: object,
) {
	await env.DB.batch([
		env.DB.prepare(
			`INSERT INTO delivery_batches (batch_key, destination_id, kind, events, delivered, status,
		   created_at, updated_at, next_attempt_at, settled_at)
		 VALUES (?1, ?2, 'events', ?3, ?4, ?5, ?6, ?7, ?6, ?8)`,
		).bind(
			key,
			destination,
			events,
			delivered,
			status,
			iso(createdMs),
			iso(settleMs ?? createdMs),
			settleMs === undefined ? null : iso(settleMs),
		),
		...(body
			? [
					env.DB.prepare(
						"INSERT INTO delivery_bodies (batch_id, body) SELECT id, ?2 FROM delivery_batches WHERE batch_key = ?1",
					).bind(key, JSON.stringify(body)),
				]
			: []),
	]);
}

async function failure(
	destination: string,
	messageId: string,
	status: string,
	atMs: number,
	lastError: string,
) {
	await env.DB.prepare(
		`INSERT INTO delivery_failures (destination_id, source_id, message_id, batch_key, event_time, status,
		   attempts, last_status, last_error, created_at, updated_at)
		 VALUES (?1, 'web', ?2, 'k', ?3, ?4, 1, 400, ?5, ?3, ?3)`,
	)
		.bind(destination, messageId, iso(atMs), status, lastError)
		.run();
}

beforeEach(async () => {
	await env.DB.exec("DELETE FROM delivery_batches");
	await env.DB.exec("DELETE FROM delivery_failures");
});

describe("the console's reads of the delivery log", () => {
	it("counts each destination's outcomes and takes the median latency of its batches", async () => {
		await batch("hooks", "b1", 10, 10, "done", 0, 100);
		await batch("hooks", "b2", 10, 8, "done", 0, 900);
		await batch("hooks", "b3", 5, 5, "done", 0, 200);
		await batch("hooks", "b4", 4, 1, "retrying", 0);
		await failure("hooks", "m4", "failed", 0, "HTTP 400");
		await failure("hooks", "m5", "dead", 0, "HTTP 503");
		await batch("ga4", "b5", 3, 3, "done", 0, 50);
		await batch("ga4", "old", 3, 3, "done", -3_600_000, -3_599_000);
		const figures = await destinationFigures(env.DB, iso(-60_000));
		expect(
			figures.sort((a, b) => a.destinationId.localeCompare(b.destinationId)),
		).toEqual([
			{
				destinationId: "ga4",
				delivered: 3,
				failed: 0,
				dead: 0,
				dropped: 0,
				inFlight: 0,
				p50Ms: 50,
			},
			{
				destinationId: "hooks",
				delivered: 24,
				failed: 1,
				dead: 1,
				dropped: 0,
				inFlight: 3,
				p50Ms: 200,
			},
		]);
	});

	it("lists failures with the vendor's answer, newest first, and what the log holds of one event", async () => {
		await failure("hooks", "m1", "failed", 0, "HTTP 400: bad");
		await failure("hooks", "m2", "failed", 1000, "HTTP 400: worse");
		const failed = await failedDeliveries(env.DB, "hooks", ["failed"], 10);
		expect(failed.map((f) => [f.messageId, f.lastStatus, f.lastError])).toEqual(
			[
				["m2", 400, "HTTP 400: worse"],
				["m1", 400, "HTTP 400: bad"],
			],
		);
		const item = (messageId: string) => ({
			sourceId: "web",
			event: { type: "track", messageId },
		});
		await batch("ga4", "b1", 2, 0, "pending", 0, undefined, {
			kind: "events",
			destinationId: "ga4",
			items: [item("m0"), item("m1")],
		});
		await batch("posthog", "b2", 1, 0, "pending", 0, undefined, {
			kind: "events",
			destinationId: "posthog",
			items: [item("m3")],
		});
		expect(await deliveriesOfEvent(env.DB, "web", "m1")).toEqual([
			{
				destinationId: "ga4",
				status: "pending",
				attempts: 0,
				lastStatus: null,
				lastError: null,
			},
			{
				destinationId: "hooks",
				status: "failed",
				attempts: 1,
				lastStatus: 400,
				lastError: "HTTP 400: bad",
			},
		]);
		expect(await deliveriesOfEvent(env.DB, "web", "m9")).toEqual([]);
	});
});
