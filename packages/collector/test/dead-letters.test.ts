import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ownerOf, seenKey } from "../src/db/seen";
import type { DeadLetter } from "../src/delivery/dead-letter";
import {
	failuresOf,
	postBatch,
	script,
	trackEvent,
	useOneAttemptWebhook,
	waitFor,
} from "./delivery-helpers";
import { body, D1_DOWN, deliverBatch, enriched, faultyD1 } from "./faults";
import { uniqueId, useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";

const ADMIN = { authorization: "Bearer test-admin-token-0123456789abcdefghij" };

interface Parked {
	kind: string;
	source_id: string;
	message_id: string;
	destination_id: string | null;
	profile_id: string | null;
	user_id: string | null;
	anonymous_id: string | null;
	reason: string;
	error: string;
	payload: string;
}

async function parkedFor(messageId: string): Promise<Parked[]> {
	const { results } = await env.DB.prepare(
		"SELECT kind, source_id, message_id, destination_id, profile_id, user_id, anonymous_id, reason, error, payload FROM parked WHERE message_id = ?1 ORDER BY id",
	)
		.bind(messageId)
		.run<Parked>();
	return results;
}

/** Resolves one event of `userId` through the consumer, then erases its profile via the API. */
async function erase(userId: string): Promise<void> {
	const id = uniqueId();
	await deliverBatch(
		"conduit-events",
		[
			{
				id: `q-${id}`,
				body: body("web", [JSON.stringify(enriched(id, { userId }))]),
			},
		],
		env,
	);
	const row = await env.DB.prepare(
		"SELECT profile_id FROM identities WHERE type = 'user_id' AND value = ?1",
	)
		.bind(userId)
		.first<{ profile_id: string }>();
	const response = await exports.default.fetch(
		`http://collector.test/v1/profiles/${row?.profile_id}`,
		{ method: "DELETE", headers: ADMIN },
	);
	expect(response.status).toBe(200);
}

/** What a consumer that died after claiming an event leaves: the claim, never finished. */
async function claimedBy(queueMessageId: string, messageId: string) {
	await env.DB.prepare(
		"INSERT INTO seen (key, owner, claimed_at) VALUES (CAST(?1 AS INTEGER), CAST(?2 AS INTEGER), unixepoch())",
	)
		.bind(await seenKey("web", messageId), await ownerOf(queueMessageId))
		.run();
}

async function windowRow(messageId: string) {
	return env.DB.prepare(
		`SELECT CAST(owner AS TEXT) AS owner,
  EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner) AS finished
FROM seen WHERE key = CAST(?1 AS INTEGER)`,
	)
		.bind(await seenKey("web", messageId))
		.first<{ owner: string; finished: number }>();
}

beforeEach(() => useConfig());

describe("the EVENTS dead-letter queue", () => {
	it("parks each event of a dead letter with the last error the consumer recorded, once", async () => {
		const poison = uniqueId();
		const message = body("web", [JSON.stringify(enriched(poison))]);
		// D1 drops the connection once, when the batch is claimed: the batch is retried and
		// the error kept.
		let calls = 0;
		const failed = await deliverBatch(
			"conduit-events",
			[{ id: `q-${poison}`, body: message, attempts: 3 }],
			{
				...env,
				DB: faultyD1(env.DB, () => (calls++ === 0 ? D1_DOWN() : undefined)),
			},
		);
		expect(failed.retryBatch.retry).toBe(true);
		expect(await parkedFor(poison)).toEqual([]);

		for (const attempt of [1, 2]) {
			const result = await deliverBatch(
				"conduit-events-dlq",
				[{ id: `dlq-${poison}`, body: message, attempts: attempt }],
				env,
			);
			expect(result.ackAll).toBe(true);
		}
		const rows = await parkedFor(poison);
		expect(rows).toEqual([
			expect.objectContaining({
				kind: "event",
				reason: "dead_lettered",
				error:
					"gave up after 3 attempts; last error: store: D1_ERROR: Network connection lost.",
				user_id: "u1",
			}),
		]);
		const failures = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM event_failures",
		).first<{ n: number }>();
		expect(failures?.n).toBe(0);
	});

	it("releases a dead-lettered event's unfinished row, so a replayed copy finishes it", async () => {
		const id = uniqueId();
		const event = enriched(id);
		await claimedBy("q-gave-up", id);
		const message = body("web", [JSON.stringify(event)]);
		await deliverBatch(
			"conduit-events-dlq",
			[{ id: "q-gave-up", body: message }],
			env,
		);
		expect((await parkedFor(id))[0]?.error).toContain("no error was recorded");
		// A replay is a new queue message carrying the event: it takes the row over.
		await deliverBatch(
			"conduit-events",
			[{ id: "q-replayed", body: message }],
			env,
		);
		expect(await windowRow(id)).toEqual({
			owner: await ownerOf("q-replayed"),
			finished: 1,
		});
		const records = await recordsOf([id]);
		expect(records).toHaveLength(1);
		expect(records[0]?.event.context.profileId).toMatch(/^prof_/);
	});

	it("drops the dead letters of a person erased since, and parks another user's", async () => {
		const erased = uniqueId("erased");
		const kept = uniqueId("kept");
		// Received before the erasure: these events are the erased person's.
		const mine = enriched(uniqueId(), { userId: erased });
		const theirs = enriched(uniqueId(), { userId: kept });
		// Claimed before the erasure, never finished.
		await claimedBy("q-unfinished", mine.messageId);
		await erase(erased);
		const result = await deliverBatch(
			"conduit-events-dlq",
			[
				{
					id: `dlq-${mine.messageId}`,
					body: body("web", [JSON.stringify(mine), JSON.stringify(theirs)]),
				},
			],
			env,
		);
		expect(result.ackAll).toBe(true);
		expect(await parkedFor(mine.messageId)).toEqual([]);
		// Its window row stays claimed (not released): a copy sent again is not stored either.
		expect(await windowRow(mine.messageId)).toEqual({
			owner: await ownerOf("q-unfinished"),
			finished: 0,
		});
		expect(await recordsOf([mine.messageId])).toEqual([]);
		expect(await parkedFor(theirs.messageId)).toHaveLength(1);
	});

	it("keeps dead letters in their queue, parking nothing, while D1 is down", async () => {
		const id = uniqueId();
		const result = await deliverBatch(
			"conduit-events-dlq",
			[{ id: `dlq-${id}`, body: body("web", [JSON.stringify(enriched(id))]) }],
			{ ...env, DB: faultyD1(env.DB, D1_DOWN) },
		);
		expect(result.ackAll).toBe(false);
		expect(result.retryBatch.retry).toBe(true);
		expect(await parkedFor(id)).toEqual([]);
	});
});

describe("the DELIVERIES dead-letter queue", () => {
	it("parks a delivery a destination gave up on, with its answer and the ids erasure needs", {
		timeout: 15_000,
	}, async () => {
		const { key, id } = await useOneAttemptWebhook();
		await script("webhook", key, [
			{ status: 400, body: { error: "bad field" } },
		]);
		const event = trackEvent({ userId: `u-${key}` });
		expect((await postBatch([event])).status).toBe(200);
		await waitFor(async () => (await failuresOf(id))[0]?.status === "failed");
		// The real Worker consumes conduit-deliveries-dlq, as deployed.
		const [row] = await waitFor(async () => {
			const rows = await parkedFor(String(event.messageId));
			return rows.length > 0 && rows;
		}, 10_000);
		expect(row).toMatchObject({
			kind: "delivery",
			destination_id: id,
			reason: "delivery_dead",
			user_id: `u-${key}`,
			anonymous_id: "anon_0123456789",
			profile_id: expect.stringMatching(/^prof_/),
			error: expect.stringMatching(
				/^failed after 1 attempt\(s\) \(last answer HTTP 400\): /,
			),
		});
		const letter = JSON.parse(row?.payload ?? "{}") as DeadLetter;
		expect(letter).toMatchObject({
			lastStatus: 400,
			responseBody: expect.stringContaining("bad field"),
			event: { messageId: event.messageId },
		});
	});

	it("drops the letters of a person erased since, and deletion letters (they carry erased identifiers)", async () => {
		const erased = uniqueId("erased");
		await erase(erased);
		const letter = (event: ReturnType<typeof enriched>): DeadLetter => ({
			destinationId: "hooks",
			destinationType: "webhook",
			sourceId: "web",
			messageId: event.messageId,
			status: "dead",
			attempts: 8,
			lastStatus: 503,
			error: "HTTP 503",
			event,
			at: new Date().toISOString(),
		});
		const mine = enriched(uniqueId(), {
			userId: erased,
			receivedAt: new Date(Date.now() - 60_000).toISOString(),
		});
		const theirs = enriched(uniqueId(), { userId: uniqueId("other") });
		const deletion: DeadLetter = {
			destinationId: "hooks",
			destinationType: "webhook",
			sourceId: "",
			messageId: "deletion:1",
			status: "dead",
			attempts: 8,
			error: "HTTP 503",
			deletion: {
				id: 1,
				profileId: "prof_x",
				identities: [{ type: "user_id", value: erased }],
				requestedAt: new Date().toISOString(),
			},
			at: new Date().toISOString(),
		};
		const result = await deliverBatch(
			"conduit-deliveries-dlq",
			[
				{ id: "l-mine", body: letter(mine) },
				{ id: "l-theirs", body: letter(theirs) },
				{ id: "l-deletion", body: deletion },
			],
			env,
		);
		expect(result.ackAll).toBe(true);
		expect(await parkedFor(mine.messageId)).toEqual([]);
		expect(await parkedFor("deletion:1")).toEqual([]);
		expect(await parkedFor(theirs.messageId)).toEqual([
			expect.objectContaining({
				kind: "delivery",
				destination_id: "hooks",
				error: "dead after 8 attempt(s) (last answer HTTP 503): HTTP 503",
			}),
		]);
	});
});
