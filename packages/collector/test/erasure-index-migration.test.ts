import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The statements of migration 0015 that move the rows, as the migration runs them. */
function movingStatements(): string[] {
	const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0015_"));
	if (!migration) throw new Error("no migration 0015");
	return migration.queries.filter((q) =>
		/^(INSERT|DROP TABLE)/i.test(q.replace(/^\s*--.*$/gm, "").trim()),
	);
}

describe("migration 0015: the erasure index by partition", () => {
	it("moves index and rewrite rows of objects to one row per partition, keeping the latest time", async () => {
		const tag = crypto.randomUUID();
		const folder = `events/source=${tag}/dt=2026-11-01/hour=08/`;
		// The tables as migration 0007 made them (0015 dropped them, so the names are free here).
		await env.DB.batch([
			env.DB.prepare(
				`CREATE TABLE archive_index (profile_id TEXT NOT NULL, bucket TEXT NOT NULL,
  object_key TEXT NOT NULL, written_at TEXT NOT NULL, PRIMARY KEY (profile_id, bucket, object_key)) WITHOUT ROWID`,
			),
			env.DB.prepare(
				`CREATE TABLE archive_rewrites (profile_id TEXT NOT NULL, bucket TEXT NOT NULL,
  object_key TEXT NOT NULL, queued_at TEXT NOT NULL, PRIMARY KEY (profile_id, bucket, object_key)) WITHOUT ROWID`,
			),
			env.DB.prepare(
				`INSERT INTO archive_index VALUES
  (?1, 'RECORDS', ?2 || 'a.parquet', '2026-11-01T08:10:00.000Z'),
  (?1, 'RECORDS', ?2 || 'b.parquet', '2026-11-01T08:50:00.000Z'),
  (?3, 'RECORDS', ?2 || 'b.parquet', '2026-11-01T08:50:00.000Z'),
  (?1, 'ARCHIVE', 'x' || ?1 || '.ndjson.gz', '2026-11-01T09:00:00.000Z')`,
			).bind(`ann-${tag}`, folder, `bob-${tag}`),
			env.DB.prepare(
				`INSERT INTO archive_rewrites VALUES
  (?1, 'RECORDS', ?2 || 'c.parquet', '2026-11-02T00:00:00.000Z'),
  (?1, 'RECORDS', ?2 || 'd.parquet', '2026-11-02T00:05:00.000Z')`,
			).bind(`gone-${tag}`, folder),
		]);
		await env.DB.batch(movingStatements().map((q) => env.DB.prepare(q)));

		const index = await env.DB.prepare(
			`SELECT profile_id, bucket, partition, written_at FROM archive_partitions
WHERE profile_id IN (?1, ?2) ORDER BY profile_id, bucket`,
		)
			.bind(`ann-${tag}`, `bob-${tag}`)
			.run();
		expect(index.results).toEqual([
			{
				profile_id: `ann-${tag}`,
				bucket: "ARCHIVE",
				partition: "",
				written_at: "2026-11-01T09:00:00.000Z",
			},
			{
				profile_id: `ann-${tag}`,
				bucket: "RECORDS",
				partition: folder,
				written_at: "2026-11-01T08:50:00.000Z",
			},
			{
				profile_id: `bob-${tag}`,
				bucket: "RECORDS",
				partition: folder,
				written_at: "2026-11-01T08:50:00.000Z",
			},
		]);
		const rewrites = await env.DB.prepare(
			"SELECT bucket, partition, queued_at FROM archive_partition_rewrites WHERE profile_id = ?1",
		)
			.bind(`gone-${tag}`)
			.run();
		expect(rewrites.results).toEqual([
			{
				bucket: "RECORDS",
				partition: folder,
				queued_at: "2026-11-02T00:05:00.000Z",
			},
		]);
		const left = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM sqlite_master WHERE name IN ('archive_index', 'archive_rewrites')",
		).first("n");
		expect(left).toBe(0);
	});
});
