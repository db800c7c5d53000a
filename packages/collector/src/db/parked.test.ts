import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	countParked,
	getParked,
	listParked,
	markReplayed,
	park,
	parkedByIds,
	purgeParkedStatement,
	reparkRows,
} from "./parked";

const NOW = new Date("2026-11-01T08:00:00.000Z");

describe("parked rows", () => {
	it("keeps text SQLite's JSON reader refuses, and a lone surrogate, without failing", async () => {
		const deep = `${"[".repeat(1500)}${"]".repeat(1500)}`;
		await park(
			env.DB,
			[
				{
					kind: "event",
					sourceId: "web",
					messageId: "deep-1",
					userId: "u-deep",
					reason: "storage_refused",
					error: "malformed JSON",
					payload: `{"properties":${deep}}`,
				},
				{
					kind: "event",
					sourceId: "web",
					messageId: "bad-\ud800",
					reason: "storage_refused",
					error: "x".repeat(5000),
					payload: '{"messageId":"bad-\ud800"}',
				},
			],
			NOW,
		);
		const page = await listParked(env.DB, {
			kind: "event",
			after: 0,
			limit: 10,
		});
		const deepRow = page.find((row) => row.messageId === "deep-1");
		expect(deepRow?.payload).toBe(`{"properties":${deep}}`);
		const bad = page.find((row) => row.messageId === "bad-\ufffd");
		expect(bad?.payload).toBe('{"messageId":"bad-\ufffd"}');
		expect(bad?.error).toHaveLength(2000);
	});

	it("lists, counts and leaves out what was replayed", async () => {
		await park(
			env.DB,
			[
				{
					kind: "delivery",
					sourceId: "web",
					messageId: "d-1",
					destinationId: "hooks",
					reason: "delivery_dead",
					error: "HTTP 500",
					payload: "{}",
				},
			],
			NOW,
		);
		const before = await countParked(env.DB);
		const [row] = await listParked(env.DB, {
			kind: "delivery",
			after: 0,
			limit: 10,
		});
		expect(row).toMatchObject({
			destinationId: "hooks",
			reason: "delivery_dead",
		});
		await markReplayed(env.DB, [row?.id ?? 0], NOW);
		expect((await countParked(env.DB)).delivery).toBe(before.delivery - 1);
		expect((await getParked(env.DB, row?.id ?? 0))?.replayedAt).toBe(
			NOW.toISOString(),
		);
	});

	it("purges a person's rows by profile, user and anonymous id", async () => {
		const rows = [
			{ profileId: "prof_purge" },
			{ userId: "u-purge" },
			{ anonymousId: "a-purge" },
			{ userId: "u-keep" },
		].map((ids, i) => ({
			kind: "event" as const,
			sourceId: "web",
			messageId: `purge-${i}`,
			reason: "dead_lettered" as const,
			error: "gave up",
			payload: "{}",
			...ids,
		}));
		await park(env.DB, rows, NOW);
		const [result] = await env.DB.batch([
			purgeParkedStatement(env.DB, {
				profileIds: ["prof_purge"],
				userIds: ["u-purge"],
				anonymousIds: ["a-purge"],
			}),
		]);
		expect(result?.meta.changes).toBe(3);
		const left = await env.DB.prepare(
			"SELECT message_id FROM parked WHERE message_id LIKE 'purge-%'",
		).all<{ message_id: string }>();
		expect(left.results.map((r) => r.message_id)).toEqual(["purge-3"]);
	});

	it("parks an event once while a row waits for it, and again once that row was replayed", async () => {
		const row = {
			kind: "event" as const,
			sourceId: "web",
			messageId: "twice-1",
			reason: "dead_lettered" as const,
			error: "gave up",
			payload: "{}",
		};
		await park(env.DB, [row, row], NOW);
		await park(env.DB, [{ ...row, reason: "storage_refused" }], NOW);
		const waiting = await listParked(env.DB, { after: 0, limit: 1000 });
		const mine = waiting.filter((r) => r.messageId === "twice-1");
		expect(mine.map((r) => r.reason)).toEqual(["dead_lettered"]);
		await markReplayed(env.DB, [mine[0]?.id ?? 0], NOW);
		await park(env.DB, [row], NOW);
		const again = await listParked(env.DB, {
			reason: "dead_lettered",
			after: mine[0]?.id ?? 0,
			limit: 1000,
		});
		expect(again.filter((r) => r.messageId === "twice-1")).toHaveLength(1);
		// A malformed message has no messageId: each one is kept.
		const malformed = {
			...row,
			messageId: undefined,
			reason: "malformed" as const,
		};
		await park(env.DB, [malformed, malformed], NOW);
		const rows = await listParked(env.DB, {
			reason: "malformed",
			after: 0,
			limit: 1000,
		});
		expect(rows.filter((r) => r.messageId === null)).toHaveLength(2);
	});

	it("reads rows by id and gives refused replays a new reason, waiting again", async () => {
		await park(
			env.DB,
			["by-id-1", "by-id-2"].map((messageId) => ({
				kind: "event" as const,
				sourceId: "web",
				messageId,
				reason: "storage_refused" as const,
				error: "malformed JSON",
				payload: "{}",
			})),
			NOW,
		);
		const page = await listParked(env.DB, { after: 0, limit: 1000 });
		const ids = page
			.filter((r) => r.messageId?.startsWith("by-id-"))
			.map((r) => r.id);
		await markReplayed(env.DB, ids, NOW);
		expect(
			(await parkedByIds(env.DB, [...ids, 999_999])).map((r) => r.id),
		).toEqual(ids);
		await reparkRows(env.DB, [
			{
				id: ids[0] ?? 0,
				reason: "replay_refused",
				error: "properties: too deep",
			},
		]);
		expect(await getParked(env.DB, ids[0] ?? 0)).toMatchObject({
			reason: "replay_refused",
			error: "properties: too deep",
			replayedAt: null,
		});
		expect((await getParked(env.DB, ids[1] ?? 0))?.replayedAt).toBe(
			NOW.toISOString(),
		);
	});
});
