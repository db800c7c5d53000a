import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { spoolMessages } from "../src/db/spool";
import { drainSpool } from "../src/ingest/spool";
import { enriched, faultyQueue } from "./faults";
import { uniqueId, useConfig, waitForStored } from "./helpers";

async function spooled(): Promise<string[]> {
	const { results } = await env.DB.prepare(
		"SELECT body FROM ingest_spool ORDER BY id",
	).all<{ body: string }>();
	return results.map((r) => r.body);
}

async function parkedOf(messageIds: readonly string[]) {
	const { results } = await env.DB.prepare(
		"SELECT message_id, reason, error FROM parked WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
	)
		.bind(JSON.stringify(messageIds))
		.all<{ message_id: string; reason: string; error: string }>();
	return results;
}

/** A spooled message of `n` events, each `size` characters of properties. */
function message(n: number, size = 10) {
	const ids = Array.from({ length: n }, () => uniqueId());
	const lines = ids.map((id) =>
		JSON.stringify(enriched(id, { properties: { text: "x".repeat(size) } })),
	);
	// Joined by hand: pack() would split what ingest's old size check let through.
	return { ids, body: `{"sourceId":"web"}\n${lines.join("\n")}` };
}

/** The real EVENTS queue, refusing the sends `refuse` picks with `error`; `sent` lists the rest. */
function queue(refuse: (body: string) => boolean, error: string) {
	const sent: string[] = [];
	const q = faultyQueue(env.EVENTS as Queue<string>, ([b]) => {
		if (refuse(String(b))) return new Error(error);
		sent.push(String(b));
		return undefined;
	});
	return { queue: q, sent };
}

beforeEach(async () => {
	await useConfig();
	await env.DB.prepare("DELETE FROM ingest_spool").run();
});

describe("spool drain", () => {
	it("parks a message over the queue's size limit, one row per event, and moves the rows behind it", async () => {
		const before = message(1);
		const huge = message(3, 45_000);
		const after = message(1);
		await spoolMessages(
			env.DB,
			[before.body, huge.body, after.body],
			new Date(),
		);
		const { queue: q, sent } = queue(() => false, "");
		expect(await drainSpool(env.DB, q)).toBe(2);
		expect(sent).toEqual([before.body, after.body]);
		expect(await spooled()).toEqual([]);
		expect(await parkedOf(huge.ids)).toEqual(
			huge.ids.map((id) => ({
				message_id: id,
				reason: "spool_unsendable",
				error: expect.stringMatching(
					/^the message is 135\d{3} bytes; a queue message holds at most 127900$/,
				),
			})),
		);
		// The rows it moved reach storage through the real queue and consumer.
		expect(await waitForStored([...before.ids, ...after.ids])).toHaveLength(2);
	});

	it("parks a row the queue refuses once a later row goes through: the queue works, that row is what it will not take", async () => {
		const first = message(1);
		const refused = message(2);
		const last = message(1);
		await spoolMessages(
			env.DB,
			[first.body, refused.body, last.body],
			new Date(),
		);
		const { queue: q } = queue(
			(b) => b === refused.body,
			"Unknown Internal Error (15000)",
		);
		expect(await drainSpool(env.DB, q)).toBe(2);
		expect(await spooled()).toEqual([]);
		expect((await parkedOf(refused.ids)).map((r) => r.error)).toEqual([
			"Unknown Internal Error (15000)",
			"Unknown Internal Error (15000)",
		]);
		await waitForStored([...first.ids, ...last.ids]);
	});

	it("stops, parking nothing, when the queue is down (three refusals in a row, none explained)", async () => {
		const rows = [message(1), message(1), message(1), message(1), message(1)];
		await spoolMessages(
			env.DB,
			rows.map((r) => r.body),
			new Date(),
		);
		let tries = 0;
		const { queue: q } = queue(() => {
			tries++;
			return true;
		}, "Unknown Internal Error (15000)");
		expect(await drainSpool(env.DB, q)).toBe(0);
		expect(tries).toBe(3);
		expect(await spooled()).toEqual(rows.map((r) => r.body));
		expect(await parkedOf(rows.flatMap((r) => r.ids))).toEqual([]);
	});

	it("stops at once, parking nothing, when the queue says it is too busy", async () => {
		const first = message(1);
		const rest = [message(1), message(1)];
		await spoolMessages(
			env.DB,
			[first.body, ...rest.map((r) => r.body)],
			new Date(),
		);
		const { queue: q } = queue((b) => b !== first.body, "Too Many Requests");
		expect(await drainSpool(env.DB, q)).toBe(1);
		expect(await spooled()).toEqual(rest.map((r) => r.body));
		expect(await parkedOf(rest.flatMap((r) => r.ids))).toEqual([]);
		await waitForStored(first.ids);
	});
});
