import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	type Failure,
	recoveredStatement,
	upsertFailuresStatement,
} from "./delivery-failures";

const failure = (messageId: string): Failure => ({
	sourceId: "web",
	messageId,
	kind: "event",
	batchKey: `b-${messageId}`,
	profileKey: "u1",
	eventTime: "2026-11-01T08:00:00.000Z",
	status: "retrying",
	attempts: 1,
	lastStatus: 503,
	lastError: "unavailable",
	payload: "{}",
});

describe("recoveredStatement", () => {
	it("marks the events delivered, reading their rows only, however many the destination has", async () => {
		const destination = `d-${crypto.randomUUID()}`;
		const others = Array.from({ length: 2000 }, (_, i) =>
			failure(`other-${i}`),
		);
		for (let i = 0; i < others.length; i += 500)
			await upsertFailuresStatement(
				env.DB,
				destination,
				others.slice(i, i + 500),
				new Date(),
			).run();
		await upsertFailuresStatement(
			env.DB,
			destination,
			[failure("m1"), failure("m2")],
			new Date(),
		).run();

		const { meta } = await recoveredStatement(
			env.DB,
			destination,
			[
				{ sourceId: "web", messageId: "m1", attempts: 2, lastStatus: 200 },
				{ sourceId: "web", messageId: "m2", attempts: 3 },
			],
			new Date(),
		).run();
		expect(meta.changes).toBe(2);
		// Two rows found by key (and their index entries), not the destination's 2,002.
		expect(meta.rows_read).toBeLessThan(50);
		const { results } = await env.DB.prepare(
			`SELECT message_id, status, attempts, last_status, last_error, payload FROM delivery_failures
WHERE destination_id = ?1 AND message_id IN ('m1', 'm2', 'other-0') ORDER BY message_id`,
		)
			.bind(destination)
			.run();
		expect(results).toEqual([
			{
				message_id: "m1",
				status: "delivered",
				attempts: 2,
				last_status: 200,
				last_error: null,
				payload: null,
			},
			{
				message_id: "m2",
				status: "delivered",
				attempts: 3,
				last_status: 503,
				last_error: null,
				payload: null,
			},
			{
				message_id: "other-0",
				status: "retrying",
				attempts: 1,
				last_status: 503,
				last_error: "unavailable",
				payload: "{}",
			},
		]);
	});
});
