import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { deleteIdentityRecordsBefore } from "./cleanup";

it("deletes old refusals and suppressions past the longest suppression time", async () => {
	const refusal = env.DB.prepare(
		`INSERT INTO identity_refusals (source_id, message_id, profile_id, refused_profile_id, identifier_type, reason, created_at)
		 VALUES ('web', ?1, 'p1', 'p2', 'user_id', 'limit', ?2)`,
	);
	const suppression = env.DB.prepare(
		"INSERT INTO identity_suppressions (key_hash, deleted_at) VALUES (?1, ?2)",
	);
	await env.DB.batch([
		refusal.bind("old", "2026-09-01T00:00:00.000Z"),
		refusal.bind("new", "2026-11-19T00:00:00.000Z"),
		suppression.bind("h-old", "2025-10-01T00:00:00.000Z"),
		suppression.bind("h-new", "2026-06-01T00:00:00.000Z"),
	]);
	const now = new Date("2026-11-20T00:00:00.000Z");
	const deleted = await deleteIdentityRecordsBefore(
		env.DB,
		new Date("2026-10-21T00:00:00.000Z"),
		now,
	);
	expect(deleted).toEqual({ refusals: 1, suppressions: 1 });
	const left = await env.DB.prepare(
		"SELECT (SELECT group_concat(message_id) FROM identity_refusals) AS r, (SELECT group_concat(key_hash) FROM identity_suppressions) AS s",
	).first();
	expect(left).toEqual({ r: "new", s: "h-new" });
});
