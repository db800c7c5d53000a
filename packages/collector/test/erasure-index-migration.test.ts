import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The statements of a migration that match `pattern`, as the migration runs them. */
function statementsOf(number: string, pattern: RegExp): string[] {
	const migration = env.TEST_MIGRATIONS.find((m) =>
		m.name.startsWith(`${number}_`),
	);
	if (!migration) throw new Error(`no migration ${number}`);
	return migration.queries.filter((q) =>
		pattern.test(q.replace(/^\s*--.*$/gm, "").trim()),
	);
}

/** The statements of a migration that move the rows. */
const movingStatements = (number: string) =>
	statementsOf(number, /^(INSERT|DROP TABLE)/i);

/** archive_partitions as migration 0015 made it (0019 dropped it, so the name is free here). */
const createPartitionsTable = () =>
	statementsOf("0015", /^CREATE TABLE archive_partitions\b/i);

describe("migration 0015: the erasure index by partition", () => {
	it("moves index and rewrite rows of objects to one row per partition, keeping the latest time", async () => {
		const tag = crypto.randomUUID();
		const folder = `events/source=${tag}/dt=2026-11-01/hour=08/`;
		// The tables as migration 0007 made them (0015 dropped them, so the names are free here).
		await env.DB.batch([
			...createPartitionsTable().map((q) => env.DB.prepare(q)),
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
		await env.DB.batch(movingStatements("0015").map((q) => env.DB.prepare(q)));

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
		await env.DB.prepare("DROP TABLE archive_partitions").run();
	});
});

describe("migration 0019: the erasure index in a compact form", () => {
	it("moves each row to a (profile, partition number) row, a partition's name once with its earliest time", async () => {
		const tag = crypto.randomUUID();
		const folder = `events/source=${tag}/dt=2026-11-01/hour=08/`;
		const other = `events/source=${tag}/dt=2026-11-01/hour=09/`;
		await env.DB.batch([
			...createPartitionsTable().map((q) => env.DB.prepare(q)),
			env.DB.prepare(
				`INSERT INTO archive_partitions VALUES
  (?1, 'RECORDS', ?3, '2026-11-01T08:50:00.000Z'),
  (?2, 'RECORDS', ?3, '2026-11-01T08:10:00.000Z'),
  (?1, 'RECORDS', ?4, '2026-11-01T09:05:00.000Z'),
  (?1, 'ARCHIVE', ?3, '2026-11-01T08:30:00.000Z')`,
			).bind(`ann-${tag}`, `bob-${tag}`, folder, other),
		]);
		await env.DB.batch(movingStatements("0019").map((q) => env.DB.prepare(q)));

		const { results } = await env.DB.prepare(
			`SELECT p.profile_id, n.bucket, n.partition, n.written_at
FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id
WHERE n.partition IN (?1, ?2) ORDER BY n.bucket, n.partition, p.profile_id`,
		)
			.bind(folder, other)
			.run();
		expect(results).toEqual([
			{
				profile_id: `ann-${tag}`,
				bucket: "ARCHIVE",
				partition: folder,
				written_at: "2026-11-01T08:30:00.000Z",
			},
			{
				profile_id: `ann-${tag}`,
				bucket: "RECORDS",
				partition: folder,
				written_at: "2026-11-01T08:10:00.000Z",
			},
			{
				profile_id: `bob-${tag}`,
				bucket: "RECORDS",
				partition: folder,
				written_at: "2026-11-01T08:10:00.000Z",
			},
			{
				profile_id: `ann-${tag}`,
				bucket: "RECORDS",
				partition: other,
				written_at: "2026-11-01T09:05:00.000Z",
			},
		]);
		const names = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM archive_partition_names WHERE partition IN (?1, ?2)",
		)
			.bind(folder, other)
			.first("n");
		expect(names).toBe(3);
		const left = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'archive_partitions'",
		).first("n");
		expect(left).toBe(0);
	});
});
