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
	/\b(profiles|identities|profile_traits|group_traits|profile_event_counts|profile_groups|profile_merges|identity_refusals|identity_suppressions|identity_applied|resolution_guard)\b/;

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
					results.forEach((r, i) =>
						count(
							sqlOf.get(statements[i] as object) ?? "",
							r.meta.rows_written ?? 0,
						),
					);
					return results;
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { db, written };
}

/** Bytes the window tables take, from SQLite's own page accounting. */
async function windowBytes(): Promise<number | undefined> {
	try {
		const row = await env.DB.prepare(
			"SELECT SUM(pgsize) AS n FROM dbstat WHERE name IN ('seen', 'finished_messages')",
		).first<number>("n");
		return row ?? undefined;
	} catch {
		// dbstat is not compiled into every SQLite: the figure is then left out.
		return undefined;
	}
}

describe("the EVENTS consumer's D1 budget", () => {
	it.each([20, 5])(
		"writes at most 1.5 rows per event outside identity, and keeps the window under 100 bytes an event (%i events a message)",
		{ timeout: 60_000 },
		async (perMessage) => {
			await env.DB.batch(
				["seen", "finished_messages", "identity_applied"].map((t) =>
					env.DB.prepare(`DELETE FROM ${t}`),
				),
			);
			const bytesBefore = (await windowBytes()) ?? 0;
			const run = uniqueId("budget");
			const events = storedEvents(fixtureEvents as WireEvent[], 1000, {
				start: new Date().toISOString(),
				hours: 0.1,
			}).map(({ sourceId, event }) => ({
				sourceId,
				event: { ...event, messageId: `${run}-${event.messageId}` },
			}));
			const metered = meteredD1(env.DB);
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
			const bytes = await windowBytes();
			const bytesPerEvent =
				bytes === undefined ? undefined : (bytes - bytesBefore) / events.length;
			console.log(
				JSON.stringify({
					eventsPerMessage: perMessage,
					events: events.length,
					rowsWrittenPerEvent: {
						outsideIdentity: perEvent,
						identity: metered.written.identity / events.length,
					},
					byTable: metered.written.byTable,
					windowBytesPerEvent: bytesPerEvent,
				}),
			);
			expect(perEvent).toBeLessThanOrEqual(1.5);
			if (bytesPerEvent !== undefined)
				expect(bytesPerEvent).toBeLessThanOrEqual(100);
		},
	);
});
