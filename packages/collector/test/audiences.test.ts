import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkAudiences } from "../src/audiences/check";
import { postBatch, tenant, testConfig, waitFor } from "./delivery-helpers";
import { fixtureEvents, useConfig } from "./helpers";
import { recordedEvents } from "./helpers/records";

/*
 * Computed traits and audiences end to end: fixture events through the real Worker (ingest,
 * the EVENTS consumer, identity, fan-out), the minute check driven with a chosen clock, and the
 * webhook stand-in receiving the activation events.
 */

const H = 3_600_000;
const AUDIENCE_WRITE_KEY = "wk_test_audiences_0123";

/** The audiences section the tests use; `hook` names the webhook destination's id. */
function audiences(hook?: string) {
	return {
		source: "audiences",
		computedTraits: [
			{
				key: "lifetime_value",
				event: "Order Completed",
				aggregate: "sum",
				property: [
					"properties.revenue",
					"properties.total",
					"properties.value",
				],
			},
			{
				key: "views_6h",
				event: "Product Viewed",
				aggregate: "count",
				window: "6h",
			},
		],
		definitions: [
			{
				key: "high_value",
				name: "High-value customers",
				where: [{ path: "computed.lifetime_value", op: "gte", value: 100 }],
			},
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
				...(hook && { destinations: [hook] }),
			},
			{
				key: "browsers",
				name: "Browsed 3+ products in 6 h",
				where: [{ event: "Product Viewed", within: "6h", op: "gte", value: 3 }],
			},
		],
	};
}

function config(destinations: unknown[] = [], hook?: string) {
	const base = testConfig(destinations);
	return {
		...base,
		sources: [
			...base.sources,
			{
				id: "audiences",
				writeKey: AUDIENCE_WRITE_KEY,
				trust: "server",
				rateLimit: false,
			},
		],
		audiences: audiences(hook),
	};
}

type Event = Record<string, unknown> & {
	messageId: string;
	timestamp: string;
	type: string;
	event?: string;
	userId?: string;
	anonymousId?: string;
	properties?: Record<string, unknown>;
	traits?: Record<string, unknown>;
};

/** The fixture events as one tenant's: every id renamed, the day moved to end `endsAt`. */
function tenantFixtures(tag: string, endsAt: number): Event[] {
	const events = fixtureEvents as Event[];
	const last = Date.parse(events.at(-1)?.timestamp ?? "");
	return events.map((e) => ({
		...e,
		messageId: `${tag}_${e.messageId}`,
		timestamp: new Date(Date.parse(e.timestamp) - last + endsAt).toISOString(),
		...(e.userId && { userId: `${tag}_${e.userId}` }),
		...(e.anonymousId && { anonymousId: `${tag}_${e.anonymousId}` }),
		...(e.traits && {
			traits: {
				...e.traits,
				...(typeof e.traits.email === "string" && {
					email: `${tag}.${e.traits.email}`,
				}),
			},
		}),
	}));
}

/**
 * Who is in each audience at `nowMs`, computed from the events alone: a person is their userId,
 * or their anonymousId if they never identified (an anonymousId belongs to the first user who
 * identified with it, as on a shared computer without reset()).
 */
function truth(events: readonly Event[], nowMs: number) {
	const owner = new Map<string, string>();
	for (const e of [...events].sort((a, b) =>
		a.timestamp.localeCompare(b.timestamp),
	))
		if (
			e.type === "identify" &&
			e.userId &&
			e.anonymousId &&
			!owner.has(e.anonymousId)
		)
			owner.set(e.anonymousId, e.userId);
	const person = (e: Event) =>
		e.userId ?? owner.get(e.anonymousId ?? "") ?? e.anonymousId ?? "";
	const ltv = new Map<string, number>();
	const added = new Map<string, number>();
	const ordered = new Map<string, number>();
	const views = new Map<string, number>();
	for (const e of events) {
		const who = person(e);
		const at = Date.parse(e.timestamp);
		if (e.type !== "track") continue;
		if (e.event === "Order Completed") {
			const p = e.properties ?? {};
			const amount = [p.revenue, p.total, p.value].find(
				(x) => typeof x === "number",
			);
			ltv.set(who, (ltv.get(who) ?? 0) + Number(amount ?? 0));
			ordered.set(who, Math.max(ordered.get(who) ?? 0, at));
		}
		if (e.event === "Product Added")
			added.set(who, Math.max(added.get(who) ?? 0, at));
		// Windows are rounded out to whole hours: a view counts while its hour overlaps the window.
		if (
			e.event === "Product Viewed" &&
			Math.floor(at / H) * H + H > nowMs - 6 * H
		)
			views.set(who, (views.get(who) ?? 0) + 1);
	}
	const keys = (
		m: Map<string, number>,
		test: (v: number, k: string) => boolean,
	) =>
		[...m]
			.filter(([k, v]) => test(v, k))
			.map(([k]) => k)
			.sort();
	return {
		high_value: keys(ltv, (v) => v >= 100),
		cart_abandoners: keys(added, (at, who) => {
			const order = ordered.get(who);
			return (
				(order === undefined || order < at) &&
				nowMs >= at + H &&
				nowMs < at + 7 * 24 * H
			);
		}),
		browsers: keys(views, (n) => n >= 3),
	};
}

/** Each audience's members as people: the member profile's user_id, else its anonymous_id. */
async function members(tag: string): Promise<Record<string, string[]>> {
	const { results } = await env.DB.prepare(
		`SELECT m.audience_key AS audience,
		  coalesce(
		    (SELECT value FROM identities WHERE profile_id = m.profile_id AND type = 'user_id' ORDER BY created_at LIMIT 1),
		    (SELECT value FROM identities WHERE profile_id = m.profile_id AND type = 'anonymous_id' ORDER BY created_at LIMIT 1)
		  ) AS who
		 FROM audience_members AS m ORDER BY 1, 2`,
	).all<{ audience: string; who: string }>();
	const out: Record<string, string[]> = {
		high_value: [],
		cart_abandoners: [],
		browsers: [],
	};
	for (const r of results)
		if (r.who.startsWith(`${tag}_`)) out[r.audience]?.push(r.who);
	for (const list of Object.values(out)) list.sort();
	return out;
}

/** Events of this run stored as events of record (written after the audiences step). */
async function processed(tag: string): Promise<number> {
	return (await recordedEvents()).filter((e) =>
		e.event.messageId.startsWith(`${tag}_`),
	).length;
}

async function send(batches: readonly Event[][]): Promise<void> {
	for (const batch of batches)
		expect((await postBatch(batch)).status).toBe(200);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += size)
		out.push(items.slice(i, i + size));
	return out;
}

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
	let a = seed;
	const random = () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const out = [...items];
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j] as T, out[i] as T];
	}
	return out;
}

describe("audiences over the fixture events", () => {
	const orders: [string, (events: Event[]) => Event[][]][] = [
		["in order", (events) => chunks(events, 100)],
		["shuffled", (events) => chunks(shuffled(events, 13), 50)],
		[
			"with duplicates",
			(events) => [
				...chunks(shuffled(events, 7), 80),
				...chunks(shuffled(events, 8).slice(0, 300), 100),
			],
		],
	];
	it.each(orders)(
		"match the truth computed from the events, sent %s",
		async (_, batches) => {
			await useConfig(config());
			const tag = tenant();
			const endsAt = Date.now() - 60_000;
			const events = tenantFixtures(tag, endsAt);
			await send(batches(events));
			await waitFor(
				async () => (await processed(tag)) === events.length,
				20_000,
				100,
			);

			// The minute check, with the clock 30 minutes on: carts of the last half hour are not
			// abandoned yet, those an hour old or older are; the 6-hour window has moved on.
			const at = endsAt + 30 * 60_000;
			await checkAudiences(env, new Date(at));
			const expected = truth(events, at);
			expect(expected.high_value.length).toBeGreaterThan(3);
			expect(expected.cart_abandoners.length).toBeGreaterThan(3);
			expect(expected.browsers.length).toBeGreaterThan(3);
			expect(await members(tag)).toEqual(expected);

			// Nothing more is due at that time: a second check changes nobody.
			expect((await checkAudiences(env, new Date(at))).transitions).toBe(0);

			// Eight days on, every cart has expired and the window is empty; lifetime value stays.
			const later = endsAt + 8 * 24 * H;
			await checkAudiences(env, new Date(later));
			expect(await members(tag)).toEqual(truth(events, later));
		},
		120_000,
	);
});
