import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ownerOf, seenKey } from "../src/db/seen";
import { body, deliverBatch, enriched } from "./faults";
import { uniqueId, useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";

// The consumer reads the config (identity settings, destinations) for every batch.
beforeAll(() => useConfig());

/** A queue message body exactly as ingest writes it. */
function queued(messageIds: string | string[], sourceId = "web"): string {
	const ids = Array.isArray(messageIds) ? messageIds : [messageIds];
	return body(
		sourceId,
		ids.map((id) => JSON.stringify(enriched(id))),
	);
}

/** The same events as a JSON object, as a replay may send them. */
function queuedObject(messageId: string) {
	return { sourceId: "web", events: [enriched(messageId)] };
}

/** Runs the Worker's EVENTS consumer on a batch, as the queue would deliver it. */
function deliver(
	messages: { id: string; body: unknown; attempts?: number }[],
	bindings: Env = env,
) {
	return deliverBatch("conduit-events", messages, bindings);
}

/** The events of record with this messageId: one per object holding it. */
async function rowsFor(messageId: string) {
	return (await recordsOf([messageId])).map(({ sourceId, event, key }) => ({
		sourceId,
		key,
		payload: event,
	}));
}

/** The event's row in the deduplication window: who claimed it, and whether that finished. */
async function seenRow(messageId: string, sourceId = "web") {
	return env.DB.prepare(
		`SELECT CAST(owner AS TEXT) AS owner,
  EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner) AS finished
FROM seen WHERE key = CAST(?1 AS INTEGER)`,
	)
		.bind(await seenKey(sourceId, messageId))
		.first<{ owner: string; finished: number }>();
}

describe("EVENTS consumer", () => {
	it("stores a repeated event of one message once", async () => {
		const id = uniqueId();
		const result = await deliver([
			{ id: `q-${id}`, body: queued([id, id, id]) },
		]);
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(1);
		expect(await seenRow(id)).toEqual({
			owner: await ownerOf(`q-${id}`),
			finished: 1,
		});
	});

	it("parks a body sent as a JSON object (ingest sends NDJSON text only) and stores none of it", async () => {
		const id = uniqueId();
		const result = await deliver([{ id: `q-${id}`, body: queuedObject(id) }]);
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(0);
		const { results } = await env.DB.prepare(
			"SELECT reason FROM parked WHERE payload LIKE ?1",
		)
			.bind(`%${id}%`)
			.all<{ reason: string }>();
		expect(results).toEqual([{ reason: "malformed" }]);
	});

	it("stores each event and acknowledges the batch", async () => {
		const ids = [uniqueId(), uniqueId()];
		const result = await deliver(
			ids.map((id, i) => ({ id: `q-${id}-${i}`, body: queued(id) })),
		);
		expect(result.ackAll).toBe(true);
		for (const id of ids) {
			const rows = await rowsFor(id);
			expect(rows).toHaveLength(1);
			expect(rows[0]?.key).toMatch(
				/^events\/source=web\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[0-9a-f]{32}\.parquet$/,
			);
			expect(rows[0]?.payload).toMatchObject({
				messageId: id,
				event: "Order Completed",
				context: { profileId: expect.stringMatching(/^prof_/) },
			});
			expect((await seenRow(id))?.finished).toBe(1);
		}
	});

	it("keeps one row when the same queue message is redelivered", async () => {
		const id = uniqueId();
		await deliver([{ id: "q-redelivered", body: queued(id) }]);
		const again = await deliver([
			{ id: "q-redelivered", body: queued(id), attempts: 2 },
		]);
		expect(again.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(1);
	});

	it("finishes a redelivered message whose first attempt stored the event but crashed before the end", async () => {
		const id = uniqueId();
		// What the first attempt left behind: the event claimed, the message never finished.
		await env.DB.prepare(
			"INSERT INTO seen (key, owner, claimed_at) VALUES (CAST(?1 AS INTEGER), CAST(?2 AS INTEGER), unixepoch())",
		)
			.bind(await seenKey("web", id), await ownerOf("q-crashed"))
			.run();
		await deliver([{ id: "q-crashed", body: queued(id), attempts: 2 }]);
		expect(await rowsFor(id)).toHaveLength(1);
		expect((await seenRow(id))?.finished).toBe(1);
	});

	it("skips a copy of an event that arrived in another queue message, even while the first is unfinished", async () => {
		const id = uniqueId();
		const first = await deliver([
			{ id: "q-first", body: queued(id) },
			{ id: "q-copy-same-batch", body: queued(id) },
		]);
		expect(first.ackAll).toBe(true);
		await deliver([{ id: "q-copy-later", body: queued(id) }]);
		expect(await rowsFor(id)).toHaveLength(1);
		expect((await seenRow(id))?.owner).toBe(await ownerOf("q-first"));
	});

	it("keeps the same messageId from two sources apart", async () => {
		const id = uniqueId();
		await deliver([
			{ id: `q-a-${id}`, body: queued(id) },
			{ id: `q-b-${id}`, body: queued(id, "app") },
		]);
		expect(await rowsFor(id)).toHaveLength(2);
	});

	it("parks a malformed message (it can never succeed) as it came, and stores the rest", async () => {
		const id = uniqueId();
		const marker = uniqueId("malformed");
		const result = await deliver([
			{ id: "q-bad", body: { nothing: marker } },
			{ id: "q-not-json", body: `{oops ${marker}` },
			{ id: `q-good-${id}`, body: queued(id) },
		]);
		expect(result.ackAll).toBe(true);
		expect(await rowsFor(id)).toHaveLength(1);
		const { results } = await env.DB.prepare(
			"SELECT reason, payload FROM parked WHERE payload LIKE ?1 ORDER BY id",
		)
			.bind(`%${marker}%`)
			.all<{ reason: string; payload: string }>();
		expect(results).toEqual([
			{ reason: "malformed", payload: `{"nothing":"${marker}"}` },
			{ reason: "malformed", payload: `{oops ${marker}` },
		]);
	});

	it("retries the whole batch with backoff when D1 fails, acknowledging nothing", async () => {
		const id = uniqueId();
		const result = await deliver(
			[{ id: `q-${id}`, body: queued(id), attempts: 3 }],
			{ ...env, DB: env.UNMIGRATED_DB },
		);
		expect(result.ackAll).toBe(false);
		expect(result.retryBatch.retry).toBe(true);
		// The third attempt's step is 20 s, half of it random.
		expect(result.retryOptions).toEqual([{ delaySeconds: expect.any(Number) }]);
		const [{ delaySeconds }] = result.retryOptions as [
			{ delaySeconds: number },
		];
		expect(delaySeconds).toBeGreaterThanOrEqual(10);
		expect(delaySeconds).toBeLessThanOrEqual(20);
		expect(await rowsFor(id)).toHaveLength(0);
	});
});
