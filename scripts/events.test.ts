import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WireEvent } from "@conduit/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPlatformProxy, unstable_splitSqlQuery } from "wrangler";
import type { QueuedEvent } from "../packages/collector/src/event";
import {
	RECORD_CONTENT_TYPE,
	recordObjects,
} from "../packages/collector/src/records/records";
import { storedEvents } from "../packages/collector/test/helpers/stored-events";
import { configuredBucket, formatRows, parseCommand, run } from "./events";
import { remoteSetup, remoteTarget } from "./events/remote";
import { ROOT } from "./wrangler";

/** The part of the R2 binding the test uses (Node's type check has no Workers types). */
interface PuttableBucket {
	put(
		key: string,
		value: Uint8Array | string,
		options?: { httpMetadata?: { contentType?: string } },
	): Promise<unknown>;
}

const state = mkdtempSync(join(tmpdir(), "conduit-events-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const fixture = readFileSync(join(ROOT, "test/fixtures/events.ndjson"), "utf8")
	.split("\n")
	.filter((line) => line !== "")
	.map((line) => JSON.parse(line) as WireEvent);
const events: QueuedEvent[] = [
	...storedEvents(fixture, 624, { hours: 3 }),
	...storedEvents(fixture.slice(100, 191), 191, {
		sourceId: "server",
		start: "2026-11-02T23:30:00.000Z",
	}),
];

/** The local state `npm run dev` would leave: the objects the consumer writes, in the local bucket. */
beforeAll(async () => {
	const proxy = await getPlatformProxy<{
		RECORDS: PuttableBucket;
	}>({
		configPath: join(ROOT, "wrangler.toml"),
		persist: { path: join(state, "v3") },
		remoteBindings: false,
	});
	try {
		// Two queue batches' worth, and an object of another prefix the view must leave out.
		const objects = [
			...(await recordObjects(events.slice(0, 400))),
			...(await recordObjects(events.slice(400))),
		];
		for (const object of objects)
			await proxy.env.RECORDS.put(object.key, object.body, {
				httpMetadata: { contentType: RECORD_CONTENT_TYPE },
			});
		await proxy.env.RECORDS.put(
			"archive/dt=2026-11-01/hour=08/a.ndjson.gz",
			"not an event of record",
		);
	} finally {
		await proxy.dispose();
	}
}, 60_000);

const local = (sql: string, persistTo = state) =>
	run(["query", "--local", "--persist-to", persistTo, "--json", sql]);

describe("npm run events -- query --local", () => {
	it("counts every event written, per source and type", async () => {
		expect(await local("SELECT count(*) AS n FROM events")).toBe(
			`[{"n":${events.length}}]`,
		);
		const counts = new Map<string, number>();
		for (const { sourceId, event } of events) {
			const key = `${sourceId} ${event.type}`;
			counts.set(key, (counts.get(key) ?? 0) + 1);
		}
		// Both sources hold some of the same messageIds: an event is (sourceId, messageId).
		const rows = JSON.parse(
			await local(
				"SELECT sourceId, type, count(*) AS n, count(DISTINCT messageId) AS ids FROM events GROUP BY ALL ORDER BY ALL",
			),
		);
		expect(rows).toEqual(
			[...counts]
				.sort(([a], [b]) => (a < b ? -1 : 1))
				.map(([key, n]) => {
					const [sourceId, type] = key.split(" ");
					return { sourceId, type, n, ids: n };
				}),
		);
	});

	it("shows the typed columns in UTC and the payload as JSON", async () => {
		const [want] = events.filter((e) => e.event.type === "track");
		if (!want) throw new Error("no track event");
		const [row] = JSON.parse(
			await local(
				`SELECT messageId, sourceId, type, event, profileId, "timestamp", receivedAt, payload FROM events WHERE messageId = '${want.event.messageId}'`,
			),
		);
		expect(row).toEqual({
			messageId: want.event.messageId,
			sourceId: "web",
			type: "track",
			event: want.event.event,
			profileId: want.event.context.profileId,
			timestamp: want.event.timestamp,
			receivedAt: want.event.receivedAt,
			payload: expect.objectContaining({
				properties: want.event.properties,
				context: want.event.context,
			}),
		});
	});

	it("answers an empty view from a state without events", async () => {
		const empty = mkdtempSync(join(tmpdir(), "conduit-events-empty-"));
		try {
			expect(await local("SELECT count(*) AS n FROM events", empty)).toBe(
				'[{"n":0}]',
			);
		} finally {
			rmSync(empty, { recursive: true, force: true });
		}
	});
});

/** The collector's migrations, statement by statement, for a local D1 made through the proxy. */
function migrationStatements(): string[] {
	const dir = join(ROOT, "packages/collector/migrations");
	return (
		readdirSync(dir)
			.filter((f) => f.endsWith(".sql"))
			.sort()
			.flatMap((f) =>
				unstable_splitSqlQuery(readFileSync(join(dir, f), "utf8")),
			)
			// Comment lines before a statement stay with it: drop them, so it starts with its verb.
			.map((sql) => sql.replace(/^(\s*--[^\n]*\n)*/, "").trim())
			.filter((sql) => sql !== "")
	);
}

describe("npm run events -- migrate --local", () => {
	it("moves every legacy row to R2 once, resumably, checks the count by messageId, then drops the table", {
		timeout: 120_000,
	}, async () => {
		const dir = mkdtempSync(join(tmpdir(), "conduit-migrate-"));
		try {
			const proxy = await getPlatformProxy<{ DB: D1Database }>({
				configPath: join(ROOT, "wrangler.toml"),
				persist: { path: join(dir, "v3") },
				remoteBindings: false,
			});
			try {
				const db = proxy.env.DB;
				// Before 0010 renamed it, `events` held every event: migrate the schema up to
				// 0009, fill it, then apply 0010.
				const statements = migrationStatements();
				const rename = statements.findIndex((s) =>
					s.startsWith("DROP INDEX IF EXISTS events_received_at"),
				);
				await db.batch(statements.slice(0, rename).map((s) => db.prepare(s)));
				const insert = db.prepare(
					"INSERT INTO events (source_id, message_id, queue_message_id, type, timestamp, received_at, payload, profile_id, processed_at) VALUES (?1, ?2, 'q', ?3, ?4, ?5, ?6, ?7, ?5)",
				);
				await db.batch(
					events.slice(0, 300).map(({ sourceId, event }, i) =>
						insert.bind(
							sourceId,
							event.messageId,
							event.type,
							event.timestamp,
							event.receivedAt,
							// An erased person's row was emptied: nothing to move.
							i === 7 ? "{}" : JSON.stringify(event),
							(event.context.profileId as string | undefined) ?? null,
						),
					),
				);
				await db.batch(statements.slice(rename).map((s) => db.prepare(s)));
			} finally {
				await proxy.dispose();
			}
			const migrate = async (...flags: string[]) =>
				JSON.parse(
					await run([
						"migrate",
						"--local",
						"--persist-to",
						dir,
						"--json",
						...flags,
					]),
				);
			const first = await migrate();
			expect(first).toMatchObject({
				legacyRows: 300,
				moved: 299,
				skipped: 1,
				done: true,
				check: { legacy: 299, found: 299, duplicates: 0 },
				dropped: false,
			});
			// Run again (as after an interruption): nothing moves twice.
			const again = await migrate("--drop");
			expect(again).toMatchObject({
				moved: 0,
				check: { legacy: 299, found: 299, duplicates: 0 },
				dropped: true,
			});
			expect(await local("SELECT count(*) AS n FROM events", dir)).toBe(
				'[{"n":299}]',
			);
			expect(await migrate()).toMatchObject({ legacyRows: 0, moved: 0 });
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe("formatRows", () => {
	it("prints JSON on one line, or a table with nested values as JSON", () => {
		const rows = [
			{ sourceId: "server", n: 191, payload: { a: [1] } },
			{ sourceId: "web", n: 624, payload: null },
		];
		expect(formatRows(rows, true)).toBe(JSON.stringify(rows));
		expect(formatRows(rows, false).split("\n")).toEqual([
			"sourceId  n    payload",
			"--------  ---  ---------",
			'server    191  {"a":[1]}',
			"web       624  null",
		]);
		expect(formatRows([], false)).toBe("(no rows)");
	});
});

describe("argument handling", () => {
	it("takes one SQL statement after query, and --local or --remote", () => {
		expect(parseCommand(["query", "SELECT 1"])).toMatchObject({
			sql: "SELECT 1",
			remote: false,
			json: false,
			binding: "RECORDS",
			prefix: "events/",
		});
		expect(parseCommand(["migrate", "--remote", "--drop"])).toMatchObject({
			remote: true,
			migrate: { drop: true },
		});
		expect(() => parseCommand(["query", "--drop", "SELECT 1"])).toThrow(
			/usage:/,
		);
		expect(() => parseCommand(["query"])).toThrow(/usage:/);
		expect(() => parseCommand(["list", "SELECT 1"])).toThrow(/usage:/);
		expect(() =>
			parseCommand(["query", "--local", "--remote", "SELECT 1"]),
		).toThrow(/exclude each other/);
		expect(() => parseCommand(["query", "--nope", "SELECT 1"])).toThrow(
			/Unknown option '--nope'/,
		);
	});

	// --remote needs DuckDB's httpfs extension, which DuckDB downloads from its own repository:
	// not reachable here, so only what leads up to the query is tested.
	it("--remote names every missing credential and builds the R2 secret and glob", async () => {
		await expect(
			run(["query", "--remote", "SELECT 1"]).catch((e: Error) => e.message),
		).resolves.toMatch(/R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY/);
		expect(configuredBucket(join(ROOT, "wrangler.toml"), "RECORDS")).toBe(
			"conduit-events",
		);
		const target = remoteTarget(
			{
				R2_ACCOUNT_ID: "acc",
				R2_ACCESS_KEY_ID: "key",
				R2_SECRET_ACCESS_KEY: "it's secret",
			},
			"conduit-events",
		);
		expect(remoteSetup(target, "events/")).toEqual({
			statements: [
				"INSTALL httpfs",
				"LOAD httpfs",
				"CREATE SECRET conduit_r2 (TYPE r2, KEY_ID 'key', SECRET 'it''s secret', ACCOUNT_ID 'acc')",
			],
			glob: "r2://conduit-events/events/**/*.parquet",
		});
		expect(
			remoteTarget(
				{
					R2_ACCOUNT_ID: "a",
					R2_ACCESS_KEY_ID: "k",
					R2_SECRET_ACCESS_KEY: "s",
					R2_BUCKET: "other",
				},
				"conduit-archive",
			).bucket,
		).toBe("other");
		expect(() => remoteTarget({ R2_ACCOUNT_ID: "a" }, undefined)).toThrow(
			/R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_BUCKET/,
		);
	});
});
