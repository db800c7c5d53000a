import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkAudiences } from "../src/audiences/check";
import { trackAudiences } from "../src/audiences/stage";
import { loadConfig } from "../src/config/load";
import type { EnrichedEvent } from "../src/event";
import {
	adminFetch,
	postBatch,
	received,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	waitFor,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
import { recordsOf } from "./helpers/records";

/*
 * Activation end to end: entries and exits reach a webhook through the normal fan-out, once
 * each, gated by the profile's consent; merged profiles combine their computed traits and are
 * evaluated once as the survivor; the admin and profile APIs show it all.
 */

const H = 3_600_000;
const MIN = 60_000;

function config(hookId: string, hookUrl: string) {
	const base = testConfig([
		{
			id: hookId,
			type: "webhook",
			consent: ["marketing"],
			settings: { url: hookUrl },
		},
	]);
	return {
		...base,
		sources: [
			...base.sources,
			{
				id: "audiences",
				writeKey: "wk_test_audiences_0123",
				trust: "server",
				rateLimit: false,
			},
		],
		audiences: {
			source: "audiences",
			computedTraits: [
				{
					key: "lifetime_value",
					event: "Order Completed",
					aggregate: "sum",
					property: ["properties.revenue", "properties.total"],
				},
				{ key: "orders", event: "Order Completed", aggregate: "count" },
			],
			definitions: [
				{
					key: "cart_abandoners",
					name: "Cart abandoners",
					where: [
						{
							trigger: {
								event: "Product Added",
								thenNot: "Order Completed",
								within: "1h",
								exitAfter: "7d",
							},
						},
					],
					destinations: [hookId],
				},
				{
					key: "high_value",
					name: "High-value customers",
					where: [{ path: "computed.lifetime_value", op: "gte", value: 100 }],
					destinations: [hookId],
				},
			],
		},
	};
}

function consent(marketing: boolean) {
	return {
		consent: {
			categoryPreferences: { necessary: true, analytics: true, marketing },
		},
	};
}

interface HookEvent {
	type: string;
	event?: string;
	messageId: string;
	anonymousId?: string;
	userId?: string;
	properties?: Record<string, unknown>;
	traits?: Record<string, unknown>;
	context: { profileId?: string };
}

async function hookEvents(key: string): Promise<HookEvent[]> {
	return (await received("webhook", key)).flatMap(
		(r) => (r.body as { data: { events: HookEvent[] } }).data.events,
	);
}

/** The activation events the webhook got, as "anonymousId event|trait" lines, sorted. */
async function activations(key: string): Promise<string[]> {
	return (await hookEvents(key))
		.filter((e) => e.event?.startsWith("Audience") || e.type === "identify")
		.map((e) =>
			e.type === "identify"
				? `${e.anonymousId ?? e.userId} identify ${JSON.stringify(e.traits)}`
				: `${e.anonymousId ?? e.userId} ${e.event} ${e.properties?.audience_key}`,
		)
		.sort();
}

async function profileOf(anonymousId: string): Promise<string> {
	return waitFor(async () => {
		const row = await env.DB.prepare(
			"SELECT profile_id FROM identities WHERE type = 'anonymous_id' AND value = ?1",
		)
			.bind(anonymousId)
			.first<{ profile_id: string }>();
		return row?.profile_id;
	}, 10_000);
}

/**
 * Waits until every activation event of a profile's transitions is an event of record (the
 * consumer writes it after the audiences step, just before it finishes the batch).
 */
async function settled(profileId: string, transitions: number): Promise<void> {
	await waitFor(async () => {
		const { results } = await env.DB.prepare(
			"SELECT message_id FROM audience_transitions WHERE profile_id = ?1",
		)
			.bind(profileId)
			.all<{ message_id: string }>();
		if (results.length !== transitions) return false;
		const ids = results.map((r) => r.message_id);
		return (await recordsOf(ids)).length === transitions;
	}, 10_000);
}

describe("activation", () => {
	it("sends each entry and exit to the webhook once, and none for a profile that denies its category", async () => {
		const hook = tenant();
		const hookId = `hook-${hook}`;
		await useConfig(config(hookId, `${vendorUrl("webhook", hook)}/in`));
		const now = Date.now();
		const [granted, denied, later] = ["g", "d", "l"].map(
			(p) => `anon_${hook}_${p}`,
		) as [string, string, string];
		const added = (anonymousId: string, at: number, marketing: boolean) =>
			trackEvent({
				event: "Product Added",
				anonymousId,
				timestamp: new Date(at).toISOString(),
				context: consent(marketing),
			});
		const events = [
			added(granted, now - 2 * H, true),
			added(denied, now - 2 * H, false),
			added(later, now - 30 * MIN, true),
		];
		expect((await postBatch(events)).status).toBe(200);
		const [g, d, l] = await Promise.all(
			[granted, denied, later].map(profileOf),
		);

		// The first two carts are over an hour old: they enter as the consumer sees them.
		await settled(g as string, 1);
		await settled(d as string, 1);
		// The third enters when the minute check runs past its hour.
		expect(
			(await checkAudiences(env, new Date(now + 29 * MIN))).transitions,
		).toBe(0);
		expect(
			(await checkAudiences(env, new Date(now + 31 * MIN))).transitions,
		).toBe(1);
		await settled(l as string, 1);

		// Retries change nothing: the same events again, and the check again.
		const config_ = await loadConfig(env);
		const again = await trackAudiences(
			env,
			config_,
			events.map((e) => ({
				sourceId: "web",
				event: {
					...(e as unknown as EnrichedEvent),
					receivedAt: new Date(now).toISOString(),
					context: {
						...(e.context as object),
						profileId:
							e.anonymousId === granted ? g : e.anonymousId === denied ? d : l,
					},
				},
			})),
			{ now: new Date(now + 32 * MIN), fresh: true },
		);
		expect(again.transitions).toBe(0);
		expect(
			(await checkAudiences(env, new Date(now + 32 * MIN))).transitions,
		).toBe(0);

		// An order takes the first profile out.
		expect(
			(
				await postBatch([
					trackEvent({
						event: "Order Completed",
						anonymousId: granted,
						properties: { order_id: "o1", revenue: 20 },
						context: consent(true),
					}),
				])
			).status,
		).toBe(200);
		await settled(g as string, 2);

		const expected = [
			`${granted} Audience Entered cart_abandoners`,
			`${granted} Audience Exited cart_abandoners`,
			`${granted} identify {"cart_abandoners":false}`,
			`${granted} identify {"cart_abandoners":true}`,
			`${later} Audience Entered cart_abandoners`,
			`${later} identify {"cart_abandoners":true}`,
		].sort();
		await waitFor(
			async () => (await activations(hook)).length >= expected.length,
			10_000,
		);
		expect(await activations(hook)).toEqual(expected);
		const entered = (await hookEvents(hook)).find(
			(e) => e.event === "Audience Entered" && e.anonymousId === granted,
		);
		expect(entered?.properties).toEqual({
			audience_key: "cart_abandoners",
			audience_name: "Cart abandoners",
		});
		expect(entered?.context.profileId).toBe(g);
		// The denied profile did enter: it is in the audience, its events are stored, none left.
		const deniedRows = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM audience_members WHERE profile_id = ?1",
		)
			.bind(d)
			.first<{ n: number }>();
		expect(deniedRows?.n).toBe(1);
		expect(
			(await hookEvents(hook)).filter((e) => e.anonymousId === denied),
		).toEqual([]);
	}, 60_000);

	it("combines merged profiles' computed traits and evaluates the survivor once", async () => {
		const hook = tenant();
		const hookId = `hook-${hook}`;
		await useConfig(config(hookId, `${vendorUrl("webhook", hook)}/in`));
		const order = (who: Record<string, string>, revenue: number) =>
			trackEvent({
				event: "Order Completed",
				...who,
				properties: { order_id: `o_${revenue}`, revenue },
				context: consent(true),
			});
		const a1 = `anon_${hook}_a1`;
		const a2 = `anon_${hook}_a2`;
		const user = `user_${hook}`;
		expect((await postBatch([order({ anonymousId: a1 }, 80)])).status).toBe(
			200,
		);
		expect(
			(await postBatch([order({ anonymousId: a2, userId: user }, 50)])).status,
		).toBe(200);
		const [pa, pb] = await Promise.all([profileOf(a1), profileOf(a2)]);
		expect(pa).not.toBe(pb);
		// Neither is high-value alone.
		await waitFor(async () => {
			const row = await env.DB.prepare(
				"SELECT COUNT(*) AS n FROM audience_profiles WHERE profile_id IN (?1, ?2)",
			)
				.bind(pa, pb)
				.first<{ n: number }>();
			return row?.n === 2;
		}, 10_000);

		expect(
			(
				await postBatch([
					trackEvent({
						type: "identify",
						event: undefined,
						userId: user,
						anonymousId: a1,
						traits: {},
					}),
				])
			).status,
		).toBe(200);
		const survivor = await waitFor(async () => {
			const row = await env.DB.prepare(
				"SELECT merged_into FROM profiles WHERE id IN (?1, ?2) AND merged_into IS NOT NULL",
			)
				.bind(pa, pb)
				.first<{ merged_into: string }>();
			return row?.merged_into;
		}, 10_000);
		await settled(survivor, 1);
		const transitions = await env.DB.prepare(
			"SELECT profile_id, audience_key, kind FROM audience_transitions WHERE profile_id IN (?1, ?2)",
		)
			.bind(pa, pb)
			.all();
		expect(transitions.results).toEqual([
			{ profile_id: survivor, audience_key: "high_value", kind: "entered" },
		]);
		const states = await env.DB.prepare(
			"SELECT profile_id FROM audience_profiles WHERE profile_id IN (?1, ?2)",
		)
			.bind(pa, pb)
			.all();
		expect(states.results).toEqual([{ profile_id: survivor }]);

		// The profile API: the computed traits beside identity's own, and the audience.
		const absorbed = survivor === pa ? pb : pa;
		const response = await adminFetch(`/v1/profiles/${absorbed}`);
		expect(response.status).toBe(200);
		const { profile } = (await response.json()) as {
			profile: {
				id: string;
				computedTraits: Record<string, unknown>;
				audiences: { key: string }[];
			};
		};
		expect(profile.id).toBe(survivor);
		expect(profile.computedTraits.lifetime_value).toBe(130);
		expect(profile.computedTraits.orders).toBe(2);
		expect(profile.computedTraits.lifetimeValue).toBe(130);
		expect(profile.audiences.map((a) => a.key)).toEqual(["high_value"]);

		// The webhook got one entry, for the survivor.
		await waitFor(async () => (await activations(hook)).length >= 2, 10_000);
		const entries = (await hookEvents(hook)).filter(
			(e) => e.event === "Audience Entered",
		);
		expect(
			entries.map((e) => [e.context.profileId, e.properties?.audience_key]),
		).toEqual([[survivor, "high_value"]]);

		// Two members merge: the survivor stays in without a second entry, and the absorbed
		// profile's membership goes.
		const b1 = `anon_${hook}_b1`;
		const b2 = `anon_${hook}_b2`;
		const other = `user_${hook}_2`;
		expect((await postBatch([order({ anonymousId: b1 }, 120)])).status).toBe(
			200,
		);
		expect(
			(await postBatch([order({ anonymousId: b2, userId: other }, 110)]))
				.status,
		).toBe(200);
		const [pc, pd] = (await Promise.all([profileOf(b1), profileOf(b2)])) as [
			string,
			string,
		];
		await settled(pc, 1);
		await settled(pd, 1);
		expect(
			(
				await postBatch([
					trackEvent({
						type: "identify",
						event: undefined,
						userId: other,
						anonymousId: b1,
						traits: {},
					}),
				])
			).status,
		).toBe(200);
		const kept = await waitFor(async () => {
			const row = await env.DB.prepare(
				`SELECT p.merged_into FROM profiles AS p
				 WHERE p.id IN (?1, ?2) AND p.merged_into IS NOT NULL
				   AND NOT EXISTS (SELECT 1 FROM audience_profiles WHERE profile_id = p.id)`,
			)
				.bind(pc, pd)
				.first<{ merged_into: string }>();
			return row?.merged_into;
		}, 10_000);
		const both = await env.DB.prepare(
			`SELECT (SELECT json_group_array(profile_id) FROM audience_members WHERE profile_id IN (?1, ?2)) AS members,
			        (SELECT COUNT(*) FROM audience_transitions WHERE profile_id IN (?1, ?2)) AS transitions`,
		)
			.bind(pc, pd)
			.first<{ members: string; transitions: number }>();
		expect(JSON.parse(both?.members ?? "[]")).toEqual([kept]);
		expect(both?.transitions).toBe(2);
		const survivorView = (await (
			await adminFetch(`/v1/profiles/${kept}`)
		).json()) as {
			profile: { computedTraits: Record<string, unknown> };
		};
		expect(survivorView.profile.computedTraits.lifetime_value).toBe(230);
	}, 60_000);

	it("lists audiences with their size and last day's moves, and pages members with a cursor", async () => {
		const hook = tenant();
		await useConfig(config(`hook-${hook}`, `${vendorUrl("webhook", hook)}/in`));
		const buyers = ["x", "y", "z"].map((p) => `anon_${hook}_${p}`);
		expect(
			(
				await postBatch(
					buyers.map((anonymousId) =>
						trackEvent({
							event: "Order Completed",
							anonymousId,
							properties: { order_id: anonymousId, revenue: 150 },
						}),
					),
				)
			).status,
		).toBe(200);
		const ids = await Promise.all(buyers.map(profileOf));
		await Promise.all(ids.map((id) => settled(id, 1)));

		const list = await adminFetch("/admin/audiences");
		expect(list.status).toBe(200);
		const { audiences } = (await list.json()) as {
			audiences: {
				key: string;
				size: number;
				entered: number;
				exited: number;
			}[];
		};
		const count = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM audience_members WHERE audience_key = 'high_value'",
		).first<{ n: number }>();
		const high = audiences.find((a) => a.key === "high_value");
		expect(high?.size).toBe(count?.n);
		expect(high?.size).toBeGreaterThanOrEqual(3);
		expect(high?.entered).toBeGreaterThanOrEqual(3);

		const seen: string[] = [];
		let cursor = "";
		for (let page = 0; page < 100; page++) {
			const response = await adminFetch(
				`/admin/audiences/high_value/members?limit=2&cursor=${encodeURIComponent(cursor)}`,
			);
			expect(response.status).toBe(200);
			const body = (await response.json()) as {
				members: { profileId: string }[];
				next?: string;
			};
			seen.push(...body.members.map((m) => m.profileId));
			if (!body.next) break;
			cursor = body.next;
		}
		expect(seen.length).toBe(count?.n);
		expect(new Set(seen).size).toBe(seen.length);
		for (const id of ids) expect(seen).toContain(id);

		// Erasure takes the person's audience state, memberships and transitions with it.
		const erased = ids[0] as string;
		const deleted = await exports.default.fetch(
			`http://collector.test/v1/profiles/${erased}`,
			{
				method: "DELETE",
				headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
			},
		);
		expect(deleted.status).toBe(200);
		const left = await env.DB.prepare(
			`SELECT (SELECT COUNT(*) FROM audience_profiles WHERE profile_id = ?1)
			      + (SELECT COUNT(*) FROM audience_members WHERE profile_id = ?1)
			      + (SELECT COUNT(*) FROM audience_transitions WHERE profile_id = ?1) AS n`,
		)
			.bind(erased)
			.first<{ n: number }>();
		expect(left?.n).toBe(0);

		expect((await adminFetch("/admin/audiences/nope/members")).status).toBe(
			404,
		);
		const bad = await adminFetch("/admin/audiences/high_value/members?limit=0");
		expect(bad.status).toBe(400);
		expect(
			((await bad.json()) as { error: { code?: string } }).error,
		).toBeDefined();
		expect(
			(await exports.default.fetch("http://collector.test/admin/audiences"))
				.status,
		).toBe(401);
	}, 60_000);
});
