import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { audienceBackfillStep } from "../src/audiences/backfill";
import { loadConfig } from "../src/config/load";
import { CRONS } from "../src/cron";
import { type Backfill, getBackfill } from "../src/db/backfills";
import worker from "../src/index";
import { scanStep } from "../src/records/scan";
import {
	adminFetch,
	postBatch,
	received,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import { useConfig } from "./helpers";
import { waitForRecords } from "./helpers/records";

/*
 * Audience backfill end to end: events stored before an audience existed, the definition added
 * to the config, the job the collector registers for it run by the minute cron, and the
 * webhook stand-in receiving (or not) the activation events.
 */

const AUDIENCE_WRITE_KEY = "wk_test_audiences_0123";
const QUEUE_TEST_MS = 40_000;

const PINGS = { key: "pings", event: "Ping", aggregate: "count" };
const ORDERS = { key: "orders", event: "Order Completed", aggregate: "count" };
const BUYERS = {
	key: "buyers",
	name: "Bought twice",
	where: [{ path: "computed.orders", op: "gte", value: 2 }],
};
const TRIALISTS = {
	key: "trialists",
	name: "Started a trial",
	where: [{ event: "Trial Started" }],
	sendOnBackfill: true,
};

function config(hook: string, key: string, audiences: unknown) {
	const base = testConfig([
		{
			id: hook,
			type: "webhook",
			settings: { url: `${vendorUrl("webhook", key)}/in` },
		},
	]);
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
		audiences: { source: "audiences", ...(audiences as object) },
	};
}

async function cron() {
	await worker.scheduled(
		createScheduledController({
			cron: CRONS.drainSpool,
			scheduledTime: Date.now(),
		}),
		env,
	);
}

/** Posts events and returns their resolved profile ids once they are events of record. */
async function stored(events: Record<string, unknown>[]) {
	expect((await postBatch(events)).status).toBe(200);
	const ids = events.map((e) => e.messageId as string);
	const found = await waitForRecords(ids);
	expect(found).toHaveLength(ids.length);
	return new Map(
		found.map((f) => [f.event.messageId, f.event.context.profileId as string]),
	);
}

interface Job {
	id: number;
	kind: string;
	steps: number;
	status: string;
	eventsRead: number;
	eventsSent: number;
	detail: { audiences: string[]; activeFrom: string };
}

/** The newest audience backfill, once the collector has registered one for `audience`. */
async function jobFor(audience: string): Promise<Job> {
	return waitFor(async () => {
		const body = (await (
			await adminFetch("/admin/backfills?kind=audience")
		).json()) as {
			backfills: Job[];
		};
		return body.backfills.find((j) => j.detail.audiences.includes(audience));
	});
}

/** Lets the settle delay pass (five minutes in production), then runs the cron until the job ends. */
async function runToEnd(id: number): Promise<Job> {
	await env.DB.prepare(
		"UPDATE backfills SET detail = json_set(detail, '$.notBefore', ?2) WHERE id = ?1",
	)
		.bind(id, new Date(Date.now() - 1000).toISOString())
		.run();
	return waitFor(async () => {
		await cron();
		const job = (
			(await (await adminFetch(`/admin/backfills/${id}`)).json()) as {
				backfill: Job;
			}
		).backfill;
		return job.status !== "running" && job;
	}, 15_000);
}

async function members(audience: string): Promise<string[]> {
	const body = (await (
		await adminFetch(`/admin/audiences/${audience}/members`)
	).json()) as {
		members: { profileId: string }[];
	};
	return body.members.map((m) => m.profileId).sort();
}

async function computed(profileId: string): Promise<Record<string, unknown>> {
	const body = (await (
		await adminFetch(`/v1/profiles/${profileId}`)
	).json()) as {
		profile: { computedTraits: Record<string, unknown> };
	};
	return body.profile.computedTraits;
}

async function activations(key: string, audience: string) {
	return webhookEvents(await received("webhook", key)).filter(
		(e) =>
			e.event === "Audience Entered" &&
			(e.properties as { audience_key?: string }).audience_key === audience,
	);
}

describe("audience backfill", () => {
	it("makes profiles whose stored events qualify members, sends no entry, and counts no event twice", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		const hook = `hook-${key}`;
		// The collector's first audiences section: its definitions count live from the start.
		await useConfig(
			config(hook, key, { computedTraits: [PINGS], definitions: [] }),
		);
		await cron();
		expect(
			(
				(await (await adminFetch("/admin/backfills?kind=audience")).json()) as {
					backfills: Job[];
				}
			).backfills,
		).toEqual([]);
		const ann = `ann_${key}`;
		const bob = `bob_${key}`;
		const order = (userId: string) =>
			trackEvent({
				event: "Order Completed",
				userId,
				anonymousId: `anon_${userId}`,
			});
		const first = [order(ann), order(ann), order(bob)];
		const profiles = await stored(first);
		const annProfile = profiles.get(first[0]?.messageId as string);
		const bobProfile = profiles.get(first[2]?.messageId as string);
		expect(annProfile).not.toBe(bobProfile);

		// The audience arrives; one more order of Ann's is received before the collector
		// registers it, and counted by the backfill, not live.
		await useConfig(
			config(hook, key, {
				computedTraits: [PINGS, ORDERS],
				definitions: [BUYERS],
			}),
		);
		await stored([order(ann)]);
		const job = await jobFor("buyers");
		expect(Date.parse(job.detail.activeFrom)).toBeLessThanOrEqual(Date.now());
		// It waits five minutes for events received before the activation to be stored.
		await cron();
		expect(
			(
				(await (await adminFetch(`/admin/backfills/${job.id}`)).json()) as {
					backfill: Job;
				}
			).backfill,
		).toMatchObject({ status: "running", steps: 0 });
		expect(await members("buyers")).toEqual([]);
		expect(await runToEnd(job.id)).toMatchObject({
			status: "done",
			eventsSent: 4,
		});

		expect(await members("buyers")).toEqual([annProfile]);
		expect(await computed(annProfile as string)).toMatchObject({ orders: 3 });
		expect(await computed(bobProfile as string)).toMatchObject({ orders: 1 });
		// Live again: an order after the backfill counts once, and Bob's second makes him
		// enter, which is sent.
		await stored([order(ann), order(bob)]);
		await waitFor(async () => (await members("buyers")).length === 2);
		expect(await computed(annProfile as string)).toMatchObject({ orders: 4 });
		const entered = await waitFor(async () => {
			const found = await activations(key, "buyers");
			return found.length > 0 && found;
		}, 8000);
		await new Promise((resolve) => setTimeout(resolve, 2000));
		expect((await activations(key, "buyers")).map((e) => e.userId)).toEqual([
			bob,
		]);
		expect(entered).toHaveLength(1);
	});

	it("sends one entry per member found by the backfill when the audience asks for it", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		const hook = `hook-${key}`;
		const before = { computedTraits: [PINGS, ORDERS], definitions: [BUYERS] };
		await useConfig(config(hook, key, before));
		const cat = `cat_${key}`;
		const dan = `dan_${key}`;
		const trial = (userId: string) =>
			trackEvent({
				event: "Trial Started",
				userId,
				anonymousId: `anon_${userId}`,
			});
		const profiles = await stored([trial(cat), trial(cat), trial(dan)]);
		await useConfig(
			config(hook, key, { ...before, definitions: [BUYERS, TRIALISTS] }),
		);
		await cron();
		const job = await jobFor("trialists");
		expect(await runToEnd(job.id)).toMatchObject({
			status: "done",
			eventsSent: 3,
		});

		const expected = [...new Set(profiles.values())].sort();
		expect(await members("trialists")).toEqual(expected);
		await waitFor(
			async () => (await activations(key, "trialists")).length >= 2,
			8000,
		);
		await new Promise((resolve) => setTimeout(resolve, 2000));
		const sent = await activations(key, "trialists");
		expect(sent.map((e) => e.userId).sort()).toEqual([cat, dan].sort());
	});
	it("counts a step's events once when the same step is run twice", {
		timeout: QUEUE_TEST_MS,
	}, async () => {
		const key = tenant();
		const hook = `hook-${key}`;
		const before = {
			computedTraits: [PINGS, ORDERS],
			definitions: [BUYERS, TRIALISTS],
		};
		await useConfig(config(hook, key, before));
		const eve = `eve_${key}`;
		const view = () =>
			trackEvent({
				event: "Plan Viewed",
				userId: eve,
				anonymousId: `anon_${eve}`,
			});
		const profiles = await stored([view(), view(), view()]);
		const profile = [...profiles.values()][0] as string;
		const VIEWS = {
			key: "plan_views",
			event: "Plan Viewed",
			aggregate: "count",
		};
		await useConfig(
			config(hook, key, { ...before, computedTraits: [PINGS, ORDERS, VIEWS] }),
		);
		await cron();
		const listed = await waitFor(async () => {
			const body = (await (
				await adminFetch("/admin/backfills?kind=audience")
			).json()) as {
				backfills: (Job & { detail: { aggregates: { id: string }[] } })[];
			};
			return body.backfills.find((j) =>
				j.detail.aggregates.some((a) => a.id === "plan_views"),
			);
		});
		const job = (await getBackfill(env.DB, listed.id)) as Backfill;
		const step = await scanStep(
			env.RECORDS,
			{ from: new Date(job.from), to: new Date(job.to), sources: job.sources },
			job.cursor,
		);
		const loaded = await loadConfig(env);
		// Two runs of the same step, from the same snapshot of the job: the second finds the
		// cursor moved and writes nothing.
		expect(
			await audienceBackfillStep(env, loaded, job, step, new Date()),
		).toEqual({ sent: 3, recorded: true });
		expect(
			await audienceBackfillStep(env, loaded, job, step, new Date()),
		).toEqual({ sent: 0, recorded: false });
		expect(await runToEnd(job.id)).toMatchObject({
			status: "done",
			eventsSent: 3,
		});
		expect(await computed(profile)).toMatchObject({ plan_views: 3 });
	});
});
