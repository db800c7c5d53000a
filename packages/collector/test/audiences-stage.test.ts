import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { trackAudiences } from "../src/audiences/stage";
import { profileAudiences } from "../src/audiences/view";
import { loadConfig } from "../src/config/load";
import type { EnrichedEvent, QueuedEvent } from "../src/event";
import { tenant, testConfig } from "./delivery-helpers";
import { useConfig } from "./helpers";

/*
 * The consumer step on its own: its round trips, and the version guard that keeps a writer
 * with a stale cached state from losing another writer's update.
 */

async function setUp() {
	const base = testConfig([]);
	await useConfig({
		...base,
		sources: [
			...base.sources,
			{ id: "audiences", writeKey: "wk_test_audiences_0123", trust: "server" },
		],
		audiences: {
			source: "audiences",
			computedTraits: [
				{ key: "orders", event: "Order Completed", aggregate: "count" },
			],
			definitions: [
				{
					key: "repeat_buyers",
					name: "Repeat buyers",
					where: [{ path: "computed.orders", op: "gte", value: 2 }],
				},
			],
		},
	});
	return loadConfig(env);
}

function order(profileId: string, n: number, revenue?: number): QueuedEvent {
	const now = new Date().toISOString();
	const event: EnrichedEvent = {
		type: "track",
		event: "Order Completed",
		messageId: `${profileId}_order_${n}`,
		anonymousId: `anon_${profileId}`,
		timestamp: now,
		receivedAt: now,
		properties: {
			order_id: String(n),
			...(revenue !== undefined && { revenue }),
		},
		context: { profileId },
	};
	return { sourceId: "web", event };
}

function pageView(profileId: string, n: number): QueuedEvent {
	const { event } = order(profileId, n);
	return {
		sourceId: "web",
		event: {
			...event,
			type: "page",
			event: undefined,
			messageId: `${profileId}_page_${n}`,
		},
	};
}

async function stateOf(profileId: string) {
	const row = await env.DB.prepare(
		"SELECT version, state FROM audience_profiles WHERE profile_id = ?1",
	)
		.bind(profileId)
		.first<{ version: number; state: string }>();
	return row && { version: row.version, state: JSON.parse(row.state) };
}

describe("the audiences step", () => {
	it("reads once for a profile it has not cached, then writes once per batch", async () => {
		const config = await setUp();
		const p = `prof_${tenant()}`;
		const now = new Date();
		const cold = await trackAudiences(env, config, [order(p, 1)], {
			now,
			fresh: false,
		});
		expect(cold).toMatchObject({ profiles: 1, d1Calls: 2, attempts: 1 });
		const warm = await trackAudiences(env, config, [order(p, 2)], {
			now,
			fresh: false,
		});
		expect(warm).toMatchObject({
			profiles: 1,
			d1Calls: 1,
			attempts: 1,
			transitions: 1,
		});
		expect((await stateOf(p))?.version).toBe(2);
	});

	it("plans again from a fresh read when another writer changed the state it cached", async () => {
		const config = await setUp();
		const p = `prof_${tenant()}`;
		const now = new Date();
		await trackAudiences(env, config, [order(p, 1)], { now, fresh: false });
		// Another consumer applies a second order meanwhile (its own isolate, its own cache).
		const stored = await stateOf(p);
		const other = structuredClone(stored?.state);
		other.t.orders.a = 2;
		other.r.push("deadbeef");
		await env.DB.prepare(
			"UPDATE audience_profiles SET version = version + 1, state = ?2 WHERE profile_id = ?1",
		)
			.bind(p, JSON.stringify(other))
			.run();
		// This isolate's cache still holds version 1: the guard refuses, the step reads again.
		const run = await trackAudiences(env, config, [order(p, 3)], {
			now,
			fresh: false,
		});
		expect(run.attempts).toBe(2);
		expect((await stateOf(p))?.state.t.orders.a).toBe(3);
		// Its second order made it a repeat buyer on the fresh read: one entry.
		expect(run.transitions).toBe(1);
	});

	it("skips events it already applied, and its own activation events", async () => {
		const config = await setUp();
		const p = `prof_${tenant()}`;
		const now = new Date();
		const batch = [order(p, 1), order(p, 2)];
		expect(
			(await trackAudiences(env, config, batch, { now, fresh: false }))
				.transitions,
		).toBe(1);
		// A redelivered batch, as after a crash before the queue was acknowledged.
		expect(
			(await trackAudiences(env, config, batch, { now, fresh: true }))
				.transitions,
		).toBe(0);
		expect((await stateOf(p))?.state.t.orders.a).toBe(2);
		const own = { ...order(p, 9), sourceId: "audiences" };
		expect(
			await trackAudiences(env, config, [own], { now, fresh: false }),
		).toMatchObject({
			profiles: 0,
			d1Calls: 0,
		});
	});

	it("with no audience, touches only profiles whose events feed a computed trait; the view counts merged profiles", async () => {
		await useConfig(testConfig([]));
		const config = await loadConfig(env);
		const [p, q] = [`prof_${tenant()}`, `prof_${tenant()}`] as [string, string];
		const now = new Date();
		const run = (events: QueuedEvent[], fresh = false) =>
			trackAudiences(env, config, events, { now, fresh });
		expect(await run([pageView(p, 1)])).toMatchObject({
			profiles: 0,
			d1Calls: 0,
		});
		expect(await stateOf(p)).toBeNull();
		expect(await run([pageView(p, 2), order(p, 1, 30)])).toMatchObject({
			profiles: 1,
			d1Calls: 2,
		});
		await run([order(q, 1, 12)]);
		expect((await stateOf(p))?.state.t.lifetime_value.a).toBe(30);

		// q is merged into p: the view adds q's state before any batch combines them.
		const at = now.toISOString();
		await env.DB.prepare(
			"INSERT INTO profiles (id, created_at, updated_at, merged_into) VALUES (?1, ?3, ?3, NULL), (?2, ?3, ?3, ?1)",
		)
			.bind(p, q, at)
			.run();
		const value = async (id: string) =>
			(await profileAudiences(env.DB, config, id, now)).computedTraits
				.lifetime_value;
		expect(await value(p)).toBe(42);
		expect(await value(q)).toBe(42);

		// The batch that merged them had nothing for the state; p's copy cached before the merge
		// is dropped, so p's next order reads and combines q's state.
		expect(await run([pageView(p, 3)], true)).toMatchObject({ d1Calls: 0 });
		expect(await run([order(p, 2, 8)])).toMatchObject({ d1Calls: 2 });
		expect((await stateOf(p))?.state.t.lifetime_value.a).toBe(50);
		expect(await stateOf(q)).toBeNull();
		expect(await value(q)).toBe(50);
	});
});
