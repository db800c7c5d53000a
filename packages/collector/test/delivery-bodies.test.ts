import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	deleteDoneBatchesBefore,
	insertBatchesStatements,
	type NewBatch,
	settleBatchesStatement,
} from "../src/db/delivery-batches";
import { uniqueId } from "./helpers";

/*
 * A batch's DELIVERIES message lives in delivery_bodies while the batch is in flight
 * (migrations/0017): a done batch costs its row's size, not its message's.
 */

function batch(key: string, bodyBytes: number): NewBatch {
	return {
		key,
		destinationId: "hooks",
		kind: "events",
		events: 1,
		body: JSON.stringify({ batch: key, pad: "x".repeat(bodyBytes) }),
	};
}

async function bodiesOf(keys: readonly string[]): Promise<number> {
	return (
		(await env.DB.prepare(
			`SELECT COUNT(*) AS n FROM delivery_bodies
WHERE batch_id IN (SELECT id FROM delivery_batches WHERE batch_key IN (SELECT value FROM json_each(?1)))`,
		)
			.bind(JSON.stringify(keys))
			.first<number>("n")) ?? 0
	);
}

const size = async () =>
	(await env.DB.prepare("SELECT 1").run()).meta.size_after;

describe("the messages of batches in flight", () => {
	it("keeps a message while its batch is in flight, and drops it when the batch is done or deleted", async () => {
		const [a, b, c] = [uniqueId("a"), uniqueId("b"), uniqueId("c")];
		const now = new Date();
		await env.DB.batch(
			insertBatchesStatements(
				env.DB,
				[batch(a, 10), batch(b, 10), batch(c, 10)],
				now,
			),
		);
		expect(await bodiesOf([a, b, c])).toBe(3);
		// Logged again (fan-out run twice): the message stays one.
		await env.DB.batch(insertBatchesStatements(env.DB, [batch(a, 20)], now));
		expect(await bodiesOf([a])).toBe(1);

		await settleBatchesStatement(
			env.DB,
			[
				{ key: a, status: "retrying", sent: true, delivered: 0 },
				{ key: b, status: "done", sent: true, delivered: 1 },
			],
			now,
		).run();
		expect(await bodiesOf([a])).toBe(1);
		expect(await bodiesOf([b])).toBe(0);
		// A done batch logged again does not get its message back.
		await env.DB.batch(insertBatchesStatements(env.DB, [batch(b, 10)], now));
		expect(await bodiesOf([b])).toBe(0);

		await env.DB.prepare("DELETE FROM delivery_batches WHERE batch_key = ?1")
			.bind(c)
			.run();
		expect(await bodiesOf([c])).toBe(0);
		await settleBatchesStatement(
			env.DB,
			[{ key: a, status: "done", sent: true, delivered: 1 }],
			now,
		).run();
		expect(
			await deleteDoneBatchesBefore(env.DB, {
				events: new Date(now.getTime() + 1),
				deletions: now,
			}),
		).toBeGreaterThanOrEqual(2);
		expect(
			await env.DB.prepare(
				"SELECT COUNT(*) AS n FROM delivery_bodies WHERE batch_id NOT IN (SELECT id FROM delivery_batches)",
			).first<number>("n"),
		).toBe(0);
	});

	it("costs a done batch about its row's size: the pages its message took are used again", {
		timeout: 60_000,
	}, async () => {
		// Consumer runs of 20 batches, each message 5–40 KB (a batch of events as fan-out
		// writes it), each run settled before the next is logged.
		const runs = 50;
		const perRun = 20;
		const before = await size();
		let seed = 7;
		const nextBytes = () => {
			seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
			return 5_000 + (seed % 35_000);
		};
		for (let run = 0; run < runs; run++) {
			const now = new Date();
			const batches = Array.from({ length: perRun }, () =>
				batch(uniqueId("size"), nextBytes()),
			);
			await env.DB.batch(insertBatchesStatements(env.DB, batches, now));
			await settleBatchesStatement(
				env.DB,
				batches.map((b) => ({
					key: b.key,
					status: "done" as const,
					sent: true,
					delivered: 1,
				})),
				now,
			).run();
		}
		const perBatch = (await size()) - before;
		const bytes = perBatch / (runs * perRun);
		console.log(JSON.stringify({ bytesPerDoneBatch: bytes }));
		// One run's messages (about 450 KB) stay allocated for the next: 450 B a batch over
		// these 1,000, on top of the row's own few hundred bytes.
		expect(bytes).toBeLessThanOrEqual(1_200);
	});
});
