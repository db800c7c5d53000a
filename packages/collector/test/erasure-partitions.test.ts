import { env } from "cloudflare:workers";
import type { WireEvent } from "@conduit/protocol";
import { describe, expect, it } from "vitest";
import { queueRewritesStatements } from "../src/archive/archive-index";
import { REWRITE_GRACE_MS, rewriteArchives } from "../src/archive/rewrite";
import type { QueuedEvent } from "../src/event";
import { markErasedStatement } from "../src/identity/erased";
import { RECORDS_PREFIX, recordPartition } from "../src/records/key";
import { readRecords } from "../src/records/records";
import { writeRecords } from "../src/records/write";
import { fixtureEvents } from "./helpers";
import { storedEvents } from "./helpers/stored-events";

/** Every event held by the objects of one partition, with the object it is in. */
async function partitionEvents(folder: string) {
	const { objects } = await env.RECORDS.list({ prefix: folder });
	const held: { key: string; event: QueuedEvent }[] = [];
	for (const { key } of objects) {
		const object = await env.RECORDS.get(key);
		if (object)
			for (const event of await readRecords(await object.arrayBuffer()))
				held.push({ key, event });
	}
	return { keys: objects.map((o) => o.key), held };
}

describe("erasure by hour partition", () => {
	it("rewrites every object of a partition that holds the person, from one index row, and reads none that cannot", async () => {
		const tag = crypto.randomUUID().slice(0, 8);
		const sourceId = `s${tag}`;
		// 120 events of the fixture's people, all received within one hour.
		const events = storedEvents(fixtureEvents as WireEvent[], 120, {
			sourceId,
			hours: 0.5,
		}).map((e) => {
			e.event.context.profileId = `${String(e.event.context.profileId)}-${tag}`;
			return e;
		});
		const counts = new Map<string, number>();
		for (const e of events) {
			const id = String(e.event.context.profileId);
			counts.set(id, (counts.get(id) ?? 0) + 1);
		}
		const [ann] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [""];
		const isAnn = (e: QueuedEvent) => e.event.context.profileId === ann;
		const hers = events.filter(isAnn);
		const others = events.filter((e) => !isAnn(e));
		expect(hers.length).toBeGreaterThanOrEqual(3);
		const third = Math.floor(others.length / 3);
		// Four batches, four objects of the same partition: Ann with others, Ann alone, Ann
		// with others, others alone.
		const batches = [
			[hers[0], ...others.slice(0, third)],
			hers.slice(1, -1),
			[hers.at(-1), ...others.slice(third, 2 * third)],
			others.slice(2 * third),
		] as QueuedEvent[][];
		const now = new Date();
		for (const [i, batch] of batches.entries())
			await writeRecords(
				env,
				batch.map((e) => ({ ...e, owner: String(i + 1) })),
				{ claimed: [], retried: [] },
				now,
			);
		const folder = `${RECORDS_PREFIX}${recordPartition(sourceId, events[0]?.event.receivedAt ?? "")}/`;
		const before = await partitionEvents(folder);
		expect(before.keys).toHaveLength(4);
		expect(
			new Set(before.held.filter((h) => isAnn(h.event)).map((h) => h.key)).size,
		).toBe(3);

		// One index row per (profile, partition), however many objects and events.
		const rows = await env.DB.prepare(
			"SELECT p.profile_id FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id WHERE n.partition = ?1",
		)
			.bind(folder)
			.run<{ profile_id: string }>();
		expect(rows.results.filter((r) => r.profile_id === ann)).toHaveLength(1);
		expect(rows.results).toHaveLength(counts.size);

		const [counted] = await env.DB.batch<{ n: number }>([
			...queueRewritesStatements(env.DB, [ann], now),
			markErasedStatement(env.DB, [ann], ann, now),
		]);
		expect(counted?.results[0]?.n).toBe(1);

		const run = await rewriteArchives(
			env,
			new Date(now.getTime() + REWRITE_GRACE_MS + 60_000),
		);
		// Two objects rewritten, Ann's own deleted; the fourth's filter rules her out: not read.
		expect(run).toEqual({
			objects: { rewritten: 2, deleted: 1 },
			removedEvents: hers.length,
		});
		const after = await partitionEvents(folder);
		expect(after.keys).toHaveLength(3);
		expect(after.held.filter((h) => isAnn(h.event))).toEqual([]);
		expect(after.held.map((h) => h.event.event.messageId).sort()).toEqual(
			others.map((e) => e.event.messageId).sort(),
		);
		expect(
			await env.DB.prepare(
				"SELECT COUNT(*) AS n FROM archive_partition_rewrites WHERE profile_id = ?1",
			)
				.bind(ann)
				.first("n"),
		).toBe(0);
	});
});
