import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CRONS } from "../cron";
import { markErasedStatement } from "../identity/erased";
import worker from "../index";
import { dueRewrites, recordArchived } from "./archive-index";

const DAY_MS = 86_400_000;

async function indexRows(key: string) {
	const { results } = await env.DB.prepare(
		"SELECT profile_id, written_at FROM archive_index WHERE object_key = ?1 ORDER BY profile_id",
	)
		.bind(key)
		.run<{ profile_id: string; written_at: string }>();
	return results;
}

describe("archive index", () => {
	it("indexes each profile of an object once, and queues a rewrite instead for an erased one", async () => {
		const tag = crypto.randomUUID();
		const key = `${tag}.ndjson.gz`;
		await env.DB.batch([
			markErasedStatement(env.DB, [`gone-${tag}`], `gone-${tag}`, new Date()),
		]);
		const at = new Date();
		await recordArchived(
			env.DB,
			"ARCHIVE",
			[{ key, profileIds: [`p-${tag}`, `p-${tag}`, `gone-${tag}`] }],
			at,
		);
		expect(await indexRows(key)).toEqual([
			{ profile_id: `p-${tag}`, written_at: at.toISOString() },
		]);
		const due = await dueRewrites(env.DB, new Date(at.getTime() + 1), 1000);
		expect(due.filter((r) => r.key === key)).toEqual([
			{ bucket: "ARCHIVE", key, profileIds: [`gone-${tag}`] },
		]);
	});

	it("is pruned by the hourly retention run, rows older than EVENT_RETENTION_DAYS first", async () => {
		const tag = crypto.randomUUID();
		const days = Number(env.EVENT_RETENTION_DAYS);
		const old = `old-${tag}`;
		const recent = `recent-${tag}`;
		await recordArchived(
			env.DB,
			"ARCHIVE",
			[{ key: old, profileIds: [`p-${tag}`] }],
			new Date(Date.now() - (days + 1) * DAY_MS),
		);
		await recordArchived(
			env.DB,
			"ARCHIVE",
			[{ key: recent, profileIds: [`p-${tag}`] }],
			new Date(Date.now() - (days - 1) * DAY_MS),
		);
		await worker.scheduled(
			createScheduledController({ cron: CRONS.retention }),
			env,
		);
		expect(await indexRows(old)).toEqual([]);
		expect(await indexRows(recent)).toHaveLength(1);
	});
});
