import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { compilePlan } from "../src/audiences/plan";
import { trackAudiences } from "../src/audiences/stage";
import { profileAudiences } from "../src/audiences/view";
import { loadConfig } from "../src/config/load";
import { tenant, testConfig } from "./delivery-helpers";
import { useConfig } from "./helpers";

/*
 * Migration 0016 moves each profile's lifetime value from the profiles column into its
 * audience state, where the built-in computed trait keeps counting it.
 */

function migration() {
	const found = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0016_"));
	if (!found) throw new Error("no migration 0016");
	return found;
}

describe("migration 0016: the lifetime value becomes a computed trait", () => {
	it("names the hash the built-in definition has", () => {
		const [builtIn] = compilePlan(undefined).tracked;
		expect(builtIn?.id).toBe("lifetime_value");
		expect(migration().queries.join("\n")).toContain(`'h', '${builtIn?.hash}'`);
	});

	it("carries every live profile's amount over, and orders after it add to it", async () => {
		await useConfig(testConfig([]));
		const config = await loadConfig(env);
		const t = tenant();
		const [kept, merged, other, configured] = [
			"kept",
			"merged",
			"other",
			"configured",
		].map((n) => `prof_${n}_${t}`) as [string, string, string, string];
		const now = "2026-11-01T08:00:00.000Z";
		// The column as migration 0003 made it (0016 dropped it, so it can be added again here).
		await env.DB.batch([
			env.DB.prepare(
				"ALTER TABLE profiles ADD COLUMN lifetime_value REAL NOT NULL DEFAULT 0",
			),
			env.DB.prepare(
				`INSERT INTO profiles (id, created_at, updated_at, merged_into, lifetime_value) VALUES
  (?1, ?5, ?5, NULL, 42.5), (?2, ?5, ?5, ?1, 0), (?3, ?5, ?5, NULL, 7), (?4, ?5, ?5, NULL, 99)`,
			).bind(kept, merged, other, configured, now),
			// A state without the trait (it gets one), and one that keeps its own.
			env.DB.prepare(
				`INSERT INTO audience_profiles (profile_id, version, state, updated_at) VALUES
  (?1, 3, '{"t":{},"p":{},"g":{},"c":null,"i":null,"m":{},"r":["k1"]}', ?3),
  (?2, 5, '{"t":{"lifetime_value":{"g":"sum","a":12}},"p":{},"g":{},"c":null,"i":null,"m":{},"r":[]}', ?3)`,
			).bind(other, configured, now),
		]);
		await env.DB.batch(migration().queries.map((q) => env.DB.prepare(q)));

		const value = async (id: string) =>
			(await profileAudiences(env.DB, config, id, new Date())).computedTraits
				.lifetime_value;
		expect(await value(kept)).toBe(42.5);
		expect(await value(merged)).toBe(42.5);
		expect(await value(other)).toBe(7);
		expect(await value(configured)).toBe(12);
		const columns = await env.DB.prepare(
			"SELECT name FROM pragma_table_info('profiles')",
		).all<{ name: string }>();
		expect(columns.results.map((c) => c.name)).not.toContain("lifetime_value");
		const rows = await env.DB.prepare(
			"SELECT profile_id, version, state ->> '$.r' AS recent FROM audience_profiles WHERE profile_id IN (?1, ?2)",
		)
			.bind(kept, other)
			.all<{ profile_id: string; version: number; recent: string }>();
		expect(
			Object.fromEntries(
				rows.results.map((r) => [r.profile_id, [r.version, r.recent]]),
			),
		).toEqual({ [kept]: [1, "[]"], [other]: [4, '["k1"]'] });

		const receivedAt = new Date().toISOString();
		await trackAudiences(
			env,
			config,
			[
				{
					sourceId: "web",
					event: {
						type: "track",
						event: "Order Completed",
						messageId: `order_${t}`,
						userId: `u_${t}`,
						timestamp: receivedAt,
						receivedAt,
						properties: { revenue: 7.5 },
						context: { profileId: kept },
					},
				},
			],
			{ now: new Date(), fresh: false },
		);
		expect(await value(kept)).toBe(50);
	});
});
