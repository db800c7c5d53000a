import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { meterD1, tableOf } from "./meter";

describe("tableOf", () => {
	it("charges a statement to the table it writes, else the first it reads", () => {
		expect(
			tableOf(
				"INSERT INTO events (a) SELECT value FROM json_each(?1) ON CONFLICT DO NOTHING",
			),
		).toBe("events");
		expect(tableOf("insert or ignore into Seen (key) values (?)")).toBe("seen");
		expect(
			tableOf("WITH x AS (SELECT 1) UPDATE deliveries SET status = 'sent'"),
		).toBe("deliveries");
		expect(tableOf("DELETE FROM seen WHERE key BETWEEN ?1 AND ?2")).toBe(
			"seen",
		);
		expect(tableOf('SELECT id FROM "profiles" WHERE id = ?')).toBe("profiles");
		expect(
			tableOf(
				"SELECT j.value FROM json_each(?2) AS j JOIN deliveries AS d ON d.id = j.value",
			),
		).toBe("deliveries");
		expect(tableOf("SELECT value FROM json_each(?1)")).toBe("other");
		expect(tableOf("SELECT 1")).toBe("other");
	});
});

describe("meterD1", () => {
	beforeAll(async () => {
		await env.DB.exec(
			"CREATE TABLE meter_t (id INTEGER PRIMARY KEY, a TEXT, b TEXT); CREATE INDEX meter_t_a ON meter_t (a);",
		);
	});

	it("sums D1's own row counts per table, through batch, run, all and first", async () => {
		const meter = meterD1(env.DB);
		const insert = meter.db.prepare(
			"INSERT INTO meter_t (id, a, b) VALUES (?, ?, ?)",
		);
		const results = await meter.db.batch([
			insert.bind(1, "x", "y"),
			insert.bind(2, "x", "y"),
			meter.db.prepare("SELECT count(*) AS n FROM meter_t"),
		]);
		const written = results
			.slice(0, 2)
			.reduce((n, r) => n + r.meta.rows_written, 0);
		// Each insert writes the table row and its index row.
		expect(written).toBe(4);
		await meter.db.prepare("UPDATE meter_t SET b = 'z' WHERE id = 1").run();
		const row = await meter.db
			.prepare("SELECT a FROM meter_t WHERE id = ?")
			.bind(2)
			.first<{ a: string }>();
		expect(row).toEqual({ a: "x" });
		expect(
			await meter.db
				.prepare("SELECT a FROM meter_t WHERE id = ?")
				.bind(2)
				.first("a"),
		).toBe("x");
		expect(
			await meter.db
				.prepare("SELECT a FROM meter_t WHERE id = ?")
				.bind(99)
				.first(),
		).toBeNull();

		const usage = meter.usage().meter_t;
		expect(usage?.statements).toBe(7);
		// 4 from the inserts, 1 from the update (column b has no index).
		expect(usage?.rowsWritten).toBe(5);
		expect(usage?.rowsRead).toBeGreaterThanOrEqual(4);
		expect(meter.usage().other).toBeUndefined();
	});
});
