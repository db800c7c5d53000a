import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { WireEvent } from "@conduit/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { pack } from "../src/ingest/message";
import { fixtureEvents, uniqueId, useConfig } from "./helpers";
import { storedEvents } from "./helpers/stored-events";

beforeAll(() => useConfig());

/*
 * The storage budget of the EVENTS consumer (docs/scaling.md): D1 rows written per accepted
 * event outside identity (the deduplication claim, the finish, the records index and the erasure
 * index) at most 1.5, and D1 bytes per event inside the window at most 100. D1 counts a row
 * written per row changed and per index entry changed; the local D1 reports the same
 * `meta.rows_written`.
 */

/** Tables whose writes are identity's (profiles, identities, traits, merges, counters). */
const IDENTITY =
	/\b(profiles|identities|profile_traits|group_traits|profile_event_counts|profile_groups|profile_merges|identity_refusals|identity_suppressions|resolution_guard)\b/;

/** A D1 binding that adds up rows written, per kind of statement. */
function meteredD1(real: D1Database) {
	const written = {
		identity: 0,
		other: 0,
		byTable: {} as Record<string, number>,
	};
	const sqlOf = new WeakMap<object, string>();
	const count = (sql: string, rows: number) => {
		const table =
			/\b(?:INTO|UPDATE|FROM)\s+(\w+)/i.exec(
				sql.replace(/^\s*WITH[\s\S]*?\)\s*/i, ""),
			)?.[1] ?? "?";
		if (IDENTITY.test(`${table} `)) written.identity += rows;
		else written.other += rows;
		written.byTable[table] = (written.byTable[table] ?? 0) + rows;
	};
	const wrap = (
		statement: D1PreparedStatement,
		sql: string,
	): D1PreparedStatement => {
		const proxy = new Proxy(statement, {
			get(target, prop) {
				if (prop === "bind")
					return (...values: unknown[]) => wrap(target.bind(...values), sql);
				const value = Reflect.get(target, prop, target) as unknown;
				if (typeof value !== "function") return value;
				if (!["first", "run", "all", "raw"].includes(String(prop)))
					return value.bind(target);
				return async (...args: unknown[]) => {
					const result = await (
						value as (...a: unknown[]) => Promise<unknown>
					).apply(target, args);
					// first() and raw() do not return meta; the consumer writes through run/batch.
					const meta = (result as D1Result | null)?.meta;
					if (meta) count(sql, meta.rows_written ?? 0);
					return result;
				};
			},
		});
		sqlOf.set(proxy, sql);
		unwrap.set(proxy, statement);
		return proxy;
	};
	const unwrap = new WeakMap<object, D1PreparedStatement>();
	const db = new Proxy(real, {
		get(target, prop) {
			if (prop === "prepare")
				return (sql: string) => wrap(target.prepare(sql), sql);
			if (prop === "batch")
				return async (statements: D1PreparedStatement[]) => {
					const results = await target.batch(
						statements.map((s) => unwrap.get(s) ?? s),
					);
					results.forEach((r, i) => {
						count(
							sqlOf.get(statements[i] as object) ?? "",
							r.meta.rows_written ?? 0,
						);
					});
					return results;
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { db, written };
}

describe("the EVENTS consumer's D1 budget", () => {
	it.each([20, 5])(
		"writes at most 1.5 rows per event outside identity (%i events a message)",
		{ timeout: 60_000 },
		async (perMessage) => {
			await env.DB.batch(
				["seen", "finished_messages"].map((t) =>
					env.DB.prepare(`DELETE FROM ${t}`),
				),
			);
			const run = uniqueId("budget");
			const events = storedEvents(fixtureEvents as WireEvent[], 1000, {
				start: new Date().toISOString(),
				hours: 0.1,
			}).map(({ sourceId, event }) => ({
				sourceId,
				event: { ...event, messageId: `${run}-${event.messageId}` },
			}));
			const metered = meteredD1(env.DB);
			const indexRows = async () =>
				Number(
					await env.DB.prepare(
						"SELECT COUNT(*) AS n FROM archive_profile_partitions",
					).first("n"),
				);
			const indexedBefore = await indexRows();
			// Batches of 25 messages, as wrangler.toml's max_batch_size.
			for (let b = 0; b < events.length; b += perMessage * 25) {
				const messages = [];
				for (
					let m = b;
					m < Math.min(b + perMessage * 25, events.length);
					m += perMessage
				)
					messages.push({
						id: `${run}-q-${m}`,
						timestamp: new Date(),
						attempts: 1,
						body:
							pack(
								"web",
								events
									.slice(m, m + perMessage)
									.map((e) => JSON.stringify(e.event)),
							)[0] ?? "",
					});
				const batch = createMessageBatch<unknown>("conduit-events", messages);
				const ctx = createExecutionContext();
				await worker.queue(batch, { ...env, DB: metered.db }, ctx);
				expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
			}
			const perEvent = metered.written.other / events.length;
			console.log(
				JSON.stringify({
					eventsPerMessage: perMessage,
					events: events.length,
					rowsWrittenPerEvent: {
						outsideIdentity: perEvent,
						identity: metered.written.identity / events.length,
					},
					byTable: metered.written.byTable,
				}),
			);
			expect(perEvent).toBeLessThanOrEqual(1.5);
			// The erasure index writes at most one row (and its partition index entry) per profile
			// and hour partition, however many objects and events: none for people already indexed.
			const personHours = (await indexRows()) - indexedBefore;
			expect(
				metered.written.byTable.archive_profile_partitions ?? 0,
			).toBeLessThanOrEqual(2 * personHours);
		},
	);

	it("keeps the window under 100 bytes an event", {
		timeout: 60_000,
	}, async () => {
		// D1 reports the database's size after each statement: the growth over 100,000 window
		// rows with random keys (more than any free pages earlier deletes left) is their cost.
		const rows = 100_000;
		const grow = async (table: string, columns: string, values: string) => {
			const before = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
			for (let i = 0; i < rows; i += 20_000)
				await env.DB.prepare(
					`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT OR IGNORE INTO ${table} ${columns} SELECT ${values} FROM n`,
				).run();
			const after = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
			await env.DB.prepare(`DELETE FROM ${table}`).run();
			return (after - before) / rows;
		};
		const seen = await grow(
			"seen",
			"(key, owner, claimed_at)",
			"random(), random(), unixepoch()",
		);
		const finished = await grow(
			"finished_messages",
			"(owner, at)",
			"random(), unixepoch()",
		);
		console.log(
			JSON.stringify({ bytesPerSeenRow: seen, bytesPerFinishedRow: finished }),
		);
		expect(seen).toBeGreaterThan(8);
		// Per event: a seen row, and a finished row per message (at most one per event).
		expect(seen + finished / 5).toBeLessThanOrEqual(100);
	});

	it("keeps the erasure index under 100 bytes per (profile, hour partition), measured beside migration 0015's layout", {
		timeout: 60_000,
	}, async () => {
		// 100,000 rows of 31-character profile ids (prof_ and a ULID's length) over 2,000 hour
		// partitions, first written in time order, as the consumer writes them.
		const rows = 100_000;
		const perPartition = rows / 2000;
		const size = async () =>
			(await env.DB.prepare("SELECT 1").run()).meta.size_after;
		const series = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows - 1})`;
		const profile = "'prof_' || hex(randomblob(13))";
		const hour = `i / ${perPartition}`;

		const migration = env.TEST_MIGRATIONS.find((m) =>
			m.name.startsWith("0015_"),
		);
		const created = (migration?.queries ?? []).filter((q) =>
			/^CREATE (TABLE archive_partitions\b|INDEX archive_partitions_)/i.test(
				q.replace(/^\s*--.*$/gm, "").trim(),
			),
		);
		expect(created).toHaveLength(2);
		let before = await size();
		await env.DB.batch(created.map((q) => env.DB.prepare(q)));
		await env.DB.prepare(
			`${series} INSERT INTO archive_partitions (profile_id, bucket, partition, written_at)
SELECT ${profile}, 'RECORDS', 'events/source=web/dt=' || date(1764547200 + 3600 * (${hour}), 'unixepoch')
  || '/hour=' || strftime('%H', 1764547200 + 3600 * (${hour}), 'unixepoch') || '/',
  strftime('%Y-%m-%dT%H:%M:%fZ', 1764547200 + 3600 * (${hour}) + i % ${perPartition}, 'unixepoch') FROM n`,
		).run();
		const old = ((await size()) - before) / rows;
		await env.DB.prepare("DROP TABLE archive_partitions").run();

		before = await size();
		const tag = crypto.randomUUID();
		await env.DB.prepare(
			`WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < 1999)
INSERT INTO archive_partition_names (bucket, partition, written_at)
SELECT 'RECORDS', ?1 || i || '/', strftime('%Y-%m-%dT%H:%M:%fZ', 1764547200 + 3600 * i, 'unixepoch') FROM h`,
		)
			.bind(`events/source=${tag}/hour=`)
			.run();
		const first = Number(
			await env.DB.prepare(
				"SELECT id FROM archive_partition_names WHERE partition = ?1",
			)
				.bind(`events/source=${tag}/hour=0/`)
				.first("id"),
		);
		await env.DB.prepare(
			`${series} INSERT INTO archive_profile_partitions (profile_id, partition_id)
SELECT ${profile}, ?1 + ${hour} FROM n`,
		)
			.bind(first)
			.run();
		const compact = ((await size()) - before) / rows;
		console.log(
			JSON.stringify({
				erasureIndexBytesPerRow: { migration0015: old, now: compact },
			}),
		);
		expect(old).toBeGreaterThan(compact);
		expect(compact).toBeLessThanOrEqual(100);
	});
});
