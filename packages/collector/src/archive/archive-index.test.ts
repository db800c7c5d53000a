import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CRONS } from "../cron";
import { markErasedStatement } from "../identity/erased";
import worker from "../index";
import { dueRewrites, partitionOf, recordArchived } from "./archive-index";

const DAY_MS = 86_400_000;

/** A partition's index rows, with the time the partition was first indexed. */
async function indexRows(partition: string) {
	const { results } = await env.DB.prepare(
		`SELECT p.profile_id, n.written_at FROM archive_profile_partitions AS p
JOIN archive_partition_names AS n ON n.id = p.partition_id
WHERE n.partition = ?1 ORDER BY p.profile_id`,
	)
		.bind(partition)
		.run<{ profile_id: string; written_at: string }>();
	return results;
}

/** Rows added to the index tables by `run`. */
async function rowsWritten(run: () => Promise<unknown>): Promise<number> {
	const count = async () =>
		Number(
			await env.DB.prepare(
				"SELECT (SELECT COUNT(*) FROM archive_profile_partitions) + (SELECT COUNT(*) FROM archive_partition_names) AS n",
			).first("n"),
		);
	const before = await count();
	await run();
	return (await count()) - before;
}

describe("archive index", () => {
	it("names an object's folder as its partition", () => {
		expect(
			partitionOf("events/source=web/dt=2026-11-01/hour=08/ab.parquet"),
		).toBe("events/source=web/dt=2026-11-01/hour=08/");
		expect(partitionOf("ab.ndjson.gz")).toBe("");
	});

	it("indexes each profile of a partition once, and queues a rewrite instead for an erased one", async () => {
		const tag = crypto.randomUUID();
		const folder = `${tag}/dt=2026-11-01/hour=08/`;
		await env.DB.batch([
			markErasedStatement(env.DB, [`gone-${tag}`], `gone-${tag}`, new Date()),
		]);
		const at = new Date();
		await recordArchived(
			env.DB,
			"ARCHIVE",
			[
				{ key: `${folder}a.ndjson.gz`, profileIds: [`p-${tag}`, `p-${tag}`] },
				{
					key: `${folder}b.ndjson.gz`,
					profileIds: [`p-${tag}`, `gone-${tag}`],
				},
			],
			at,
		);
		expect(await indexRows(folder)).toEqual([
			{ profile_id: `p-${tag}`, written_at: at.toISOString() },
		]);
		// More objects of the same hour for the same person write no row, and keep the first time.
		const later = new Date(at.getTime() + 60_000);
		expect(
			await rowsWritten(() =>
				recordArchived(
					env.DB,
					"ARCHIVE",
					[{ key: `${folder}c.ndjson.gz`, profileIds: [`p-${tag}`] }],
					later,
				),
			),
		).toBe(0);
		expect(await indexRows(folder)).toEqual([
			{ profile_id: `p-${tag}`, written_at: at.toISOString() },
		]);
		const due = await dueRewrites(env.DB, new Date(at.getTime() + 1), 1000);
		expect(due.filter((r) => r.partition === folder)).toEqual([
			{ bucket: "ARCHIVE", partition: folder, profileIds: [`gone-${tag}`] },
		]);
	});

	it("is pruned by the hourly retention run, rows older than EVENT_RETENTION_DAYS and an hour first", async () => {
		const tag = crypto.randomUUID();
		const days = Number(env.EVENT_RETENTION_DAYS);
		const old = `old-${tag}/`;
		const edge = `edge-${tag}/`;
		const recent = `recent-${tag}/`;
		const write = (folder: string, at: number) =>
			recordArchived(
				env.DB,
				"ARCHIVE",
				[{ key: `${folder}x.ndjson.gz`, profileIds: [`p-${tag}`] }],
				new Date(at),
			);
		await write(old, Date.now() - (days + 1) * DAY_MS);
		// Written within the last hour of retention: its partition may not be deleted yet.
		await write(edge, Date.now() - days * DAY_MS - 30 * 60_000);
		await write(recent, Date.now() - (days - 1) * DAY_MS);
		await worker.scheduled(
			createScheduledController({ cron: CRONS.retention }),
			env,
		);
		expect(await indexRows(old)).toEqual([]);
		expect(await indexRows(edge)).toHaveLength(1);
		expect(await indexRows(recent)).toHaveLength(1);
		// The pruned partition's name goes with its last row.
		const names = await env.DB.prepare(
			"SELECT partition FROM archive_partition_names WHERE partition IN (?1, ?2, ?3) ORDER BY partition",
		)
			.bind(old, edge, recent)
			.run<{ partition: string }>();
		expect(names.results.map((r) => r.partition)).toEqual([edge, recent]);
	});
});
