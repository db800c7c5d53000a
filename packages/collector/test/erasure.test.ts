import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dueRewrites } from "../src/archive/archive-index";
import { REWRITE_GRACE_MS } from "../src/archive/rewrite";
import { pruneDeliveryLog } from "../src/db/deliveries";
import {
	insertBatchesStatements,
	settleBatchesStatement,
} from "../src/db/delivery-batches";
import { upsertFailuresStatement } from "../src/db/delivery-failures";
import { park } from "../src/db/parked";
import { keyed } from "../src/delivery/batch-key";
import { forwardDeletions } from "../src/delivery/deletions";
import { newBatch } from "../src/delivery/fanout";
import type { DeliveryMessage } from "../src/delivery/messages";
import { r2 } from "../src/destinations/r2";
import type { DeliveryItem } from "../src/destinations/types";
import { countingD1 } from "../src/identity/d1-counter";
import { finishErasures } from "../src/identity/finish-erasures";
import { suppressionKey } from "../src/identity/suppression";
import { profileKeyOf } from "../src/routing/route";
import {
	batchesOf,
	consumeDeliveryMessages,
	failuresOf,
	forwardingOf,
	item,
	received,
	script,
	sendContext,
	tenant,
	vendorUrl,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import {
	api,
	archiveObjects,
	deleteProfileViaApi,
	findInD1,
	findInR2,
	needles,
	type Person,
	person,
	statusOf,
	useErasureConfig,
} from "./helpers/erasure";
import { recordedEvents } from "./helpers/records";

/**
 * Each test makes two people through the real EVENTS consumer, and some wait for the real
 * DELIVERIES queue (1 s batch windows): seconds each, more on a busy machine.
 */
const TEST_MS = 15_000;
/** How long a test waits for the DELIVERIES consumer to settle a row. */
const QUEUE_WAIT_MS = 10_000;

/** Minutes after a deletion when the archive rewrite may run (its grace period has passed). */
const afterGrace = () => new Date(Date.now() + REWRITE_GRACE_MS + 60_000);

const webhook = (
	key: string,
	retry = { maxAttempts: 5, baseDelaySeconds: 60, maxDelaySeconds: 60 },
) => ({
	id: `hook-${key}`,
	type: "webhook",
	retry,
	settings: {
		url: `${vendorUrl("webhook", key)}/in`,
		secrets: [{ secret: "WEBHOOK_SECRET" }],
	},
});

const archive = (prefix: string) => ({
	id: `archive-${prefix.slice(0, -1)}`,
	type: "r2",
	settings: { prefix },
});

/** A DELIVERIES message of items, keyed as fan-out keys it. */
async function eventsMessage(
	destinationId: string,
	items: DeliveryItem[],
): Promise<DeliveryMessage> {
	const [message] = await keyed(
		[{ kind: "events", destinationId, items }],
		"content",
	);
	if (!message) throw new Error("keyed returned no message");
	return message;
}

/**
 * A batch of items as the log has it after a first send failed (503): retrying, a failure row
 * per event. Returns its message, for the queue to redeliver.
 */
async function waitingForRetry(
	destinationId: string,
	items: DeliveryItem[],
): Promise<DeliveryMessage> {
	const now = new Date();
	const message = await eventsMessage(destinationId, items);
	const batchKey = message.batch ?? "";
	await env.DB.batch([
		...insertBatchesStatements(env.DB, [newBatch(message)], now),
		settleBatchesStatement(
			env.DB,
			[
				{
					key: batchKey,
					status: "retrying",
					sent: true,
					delivered: 0,
					lastStatus: 503,
					nextAttemptAt: new Date(now.getTime() + 60_000),
				},
			],
			now,
		),
		upsertFailuresStatement(
			env.DB,
			destinationId,
			items.map(({ sourceId, event }) => ({
				sourceId,
				messageId: event.messageId,
				kind: "event",
				batchKey,
				profileKey: profileKeyOf(event),
				eventTime: new Date(event.timestamp).toISOString(),
				status: "retrying",
				attempts: 1,
				lastStatus: 503,
				payload: JSON.stringify(event),
			})),
			now,
		),
	]);
	return message;
}

/**
 * Both people, made with no destination configured (nothing is fanned out). Deletions of earlier
 * tests count as forwarded, so that a test's forwarding run sends its own deletion only.
 */
async function annAndBob(): Promise<[Person, Person]> {
	await env.DB.prepare(
		"UPDATE profile_deletions SET forwarding_started_at = requested_at WHERE forwarding_started_at IS NULL",
	).run();
	await useErasureConfig();
	return [await person("ann"), await person("bob", 1)];
}

/** Items received in one fixed hour, so that each batch is exactly one archive object. */
function inOneHour(items: DeliveryItem[]): DeliveryItem[] {
	return items.map((item) => ({
		...item,
		event: { ...item.event, receivedAt: "2026-11-01T08:30:00.000Z" },
	}));
}

describe("erasure: deliveries", { timeout: TEST_MS }, () => {
	it("drops a batch that was waiting for a retry instead of sending it after the deletion", async () => {
		const [ann, bob] = await annAndBob();
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		const destinationId = `hook-${key}`;
		// Six of Ann's events (email, name, phone) and one of Bob's, in one message, after a 503.
		const annItems = ann.items.slice(0, 6);
		const items = [...annItems, bob.items[0] as DeliveryItem];
		expect(annItems).toHaveLength(6);
		const message = await waitingForRetry(destinationId, items);

		const { deleted, erasure } = await deleteProfileViaApi(ann.profileId);
		expect(deleted.removed.cancelledDeliveries).toBe(6);
		// Six failure rows deleted, six events taken out of the batch's body.
		expect(deleted.removed.deliveries).toBe(12);
		const [waiting] = await batchesOf(destinationId);
		for (const needle of needles(ann.ids))
			expect(waiting?.body).not.toContain(needle);
		expect(waiting?.body).toContain(bob.items[0]?.event.messageId);
		expect(erasure.stores.pendingDeliveries).toEqual({
			complete: true,
			cancelled: 6,
			remaining: 0,
		});

		// The queue redelivers the message for its retry.
		const result = await consumeDeliveryMessages([message], 2);
		expect(result).toEqual({ acks: ["msg-0"], retries: [] });
		const requests = await received("webhook", key);
		expect(requests).toHaveLength(1);
		const sent = JSON.stringify(requests[0]?.body);
		expect(sent).toContain(bob.items[0]?.event.messageId);
		for (const needle of needles(ann.ids)) expect(sent).not.toContain(needle);
		// Ann's rows are not re-created; Bob's is delivered.
		expect(
			(await failuresOf(destinationId)).map((r) => [r.message_id, r.status]),
		).toEqual([[bob.items[0]?.event.messageId, "delivered"]]);
		expect(
			(await batchesOf(destinationId)).map((b) => [b.status, b.delivered]),
		).toEqual([["done", 1]]);
	});

	it("deletes the failure rows keyed by the profile, its absorbed profile, its userId or anonymousId, and keeps others'", async () => {
		const [ann, bob] = await annAndBob();
		const destinationId = `old-${tenant()}`;
		const row = (messageId: string, profileKey: string) => ({
			sourceId: "web",
			messageId,
			kind: "event" as const,
			batchKey: "b:old",
			profileKey,
			eventTime: new Date().toISOString(),
			status: "failed" as const,
			attempts: 1,
			payload: "{}",
		});
		await upsertFailuresStatement(
			env.DB,
			destinationId,
			[
				row("by-profile", ann.profileId),
				row("by-absorbed", ann.absorbedId),
				row("by-user-id", ann.ids.userId),
				row("by-anonymous-id", ann.ids.anonymousId),
				row("bob", bob.profileId),
			],
			new Date(),
		).run();
		const { deleted, erasure } = await deleteProfileViaApi(ann.profileId);
		expect(deleted.removed.deliveries).toBe(4);
		expect(erasure.stores.deliveryLog).toEqual({
			complete: true,
			removed: 4,
			remaining: 0,
		});
		expect((await failuresOf(destinationId)).map((r) => r.message_id)).toEqual([
			"bob",
		]);
	});

	it("takes the person's events out of batches in flight, whichever key the event has", async () => {
		const [ann, bob] = await annAndBob();
		const destinationId = `lost-${tenant()}`;
		const event = (messageId: string, fields: Record<string, unknown>) =>
			item({ messageId, ...fields } as Partial<DeliveryItem["event"]>);
		const byUserId = event(`u-${tenant()}`, { userId: ann.ids.userId });
		const byAnonymousId = event(`a-${tenant()}`, {
			userId: undefined,
			anonymousId: ann.ids.anonymousId,
		});
		const byAbsorbed = event(`p-${tenant()}`, { userId: undefined });
		byAbsorbed.event.context.profileId = ann.absorbedId;
		const bobs = bob.items[0] as DeliveryItem;
		// A batch whose message was lost: pending, its body waiting for the sweeper.
		const message = await eventsMessage(destinationId, [
			byUserId,
			byAnonymousId,
			byAbsorbed,
			bobs,
		]);
		await env.DB.batch(
			insertBatchesStatements(env.DB, [newBatch(message)], new Date()),
		);
		const { deleted, erasure } = await deleteProfileViaApi(ann.profileId);
		expect(deleted.removed.cancelledDeliveries).toBe(3);
		expect(erasure.stores.pendingDeliveries).toEqual({
			complete: true,
			cancelled: 3,
			remaining: 0,
		});
		const [batch] = await batchesOf(destinationId);
		const body = JSON.parse(batch?.body ?? "{}") as DeliveryMessage;
		expect(
			body.kind === "events" && body.items.map((i) => i.event.messageId),
		).toEqual([bobs.event.messageId]);
	});

	it("drops, unsent, an event fanned out as the deletion committed, and deletes its row", async () => {
		const [ann] = await annAndBob();
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		const destinationId = `hook-${key}`;
		await deleteProfileViaApi(ann.profileId);
		// Fan-out of a batch resolved just before the deletion writes its batch just after it.
		const late = await eventsMessage(destinationId, ann.items.slice(0, 2));
		await env.DB.batch(
			insertBatchesStatements(env.DB, [newBatch(late)], new Date()),
		);
		const result = await consumeDeliveryMessages([late]);
		expect(result.acks).toEqual(["msg-0"]);
		expect(await received("webhook", key)).toEqual([]);
		// Nothing of the person is left in the log: no failure row, and the batch keeps no body.
		expect(await failuresOf(destinationId)).toEqual([]);
		expect(
			(await batchesOf(destinationId)).map((b) => [
				b.status,
				b.delivered,
				b.body,
			]),
		).toEqual([["done", 0, null]]);
	});

	it("costs a delivery group at most one more D1 query, and none for events without a profile", async () => {
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		const destinationId = `hook-${key}`;
		const calls = async (items: DeliveryItem[]) => {
			const d1 = countingD1(env.DB);
			const message = await eventsMessage(destinationId, items);
			const result = await consumeDeliveryMessages([message], 1, {
				...env,
				DB: d1.db,
			});
			expect(result.acks).toEqual(["msg-0"]);
			return d1.calls;
		};
		const batch = (profileId?: string) =>
			Array.from({ length: 100 }, () => {
				const one = item();
				if (profileId) one.event.context.profileId = profileId;
				return one;
			});
		const withoutProfiles = await calls(batch());
		const withProfiles = await calls(batch(`p-${key}`));
		expect(withProfiles - withoutProfiles).toBe(1);
		expect(webhookEvents(await received("webhook", key))).toHaveLength(200);
	});
});

describe("erasure: parked rows", { timeout: TEST_MS }, () => {
	it("purges the person's parked events and deliveries in the deletion's transaction", async () => {
		const [ann, bob] = await annAndBob();
		const payload = (p: Person) => JSON.stringify(p.items[0]?.event);
		await park(
			env.DB,
			[
				{
					kind: "event",
					sourceId: "web",
					messageId: "p1",
					userId: ann.ids.userId,
					reason: "storage_refused",
					error: "malformed JSON",
					payload: payload(ann),
				},
				{
					kind: "event",
					sourceId: "web",
					messageId: "p2",
					anonymousId: ann.ids.anonymousId,
					reason: "dead_lettered",
					error: "max retries",
					payload: payload(ann),
				},
				{
					kind: "delivery",
					sourceId: "web",
					messageId: "p3",
					destinationId: "hooks",
					profileId: ann.absorbedId,
					reason: "delivery_dead",
					error: "HTTP 503",
					payload: payload(ann),
				},
				{
					kind: "event",
					sourceId: "web",
					messageId: "p4",
					userId: bob.ids.userId,
					reason: "storage_refused",
					error: "malformed JSON",
					payload: payload(bob),
				},
			],
			new Date(),
		);
		const { erasure } = await deleteProfileViaApi(ann.profileId);
		expect(erasure.stores.parked).toEqual({ complete: true, removed: 3 });
		const { results } = await env.DB.prepare(
			"SELECT message_id FROM parked WHERE message_id IN ('p1', 'p2', 'p3', 'p4')",
		).run<{ message_id: string }>();
		expect(results.map((r) => r.message_id)).toEqual(["p4"]);
	});
});

describe("erasure: R2 archive", { timeout: TEST_MS }, () => {
	it("indexes what each object holds, and rewrites the objects after the grace period, idempotently", async () => {
		const [ann, bob] = await annAndBob();
		const prefix = `e${tenant()}/`;
		const destination = archive(prefix);
		await useErasureConfig([destination]);
		// Three objects: Ann and Bob together, Ann alone, Bob alone.
		for (const items of [
			[...ann.items.slice(0, 3), ...bob.items.slice(0, 2)],
			ann.items.slice(3),
			bob.items.slice(2),
		])
			expect(
				await consumeDeliveryMessages([
					await eventsMessage(destination.id, inOneHour(items)),
				]),
			).toMatchObject({ retries: [] });
		const before = [...(await archiveObjects()).keys()].filter((k) =>
			k.startsWith(prefix),
		);
		expect(before).toHaveLength(3);
		const indexed = await env.DB.prepare(
			"SELECT COUNT(DISTINCT n.partition) AS n FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id WHERE n.bucket = 'ARCHIVE' AND p.profile_id IN (?1, ?2)",
		)
			.bind(ann.profileId, ann.absorbedId)
			.first<number>("n");
		// Ann's two objects are in one hour: one partition, one index row per profile.
		expect(indexed).toBe(1);
		// The person's events of record (RECORDS) are queued for rewriting too.
		const records = Number(
			await env.DB.prepare(
				"SELECT COUNT(DISTINCT n.partition) AS n FROM archive_profile_partitions AS p JOIN archive_partition_names AS n ON n.id = p.partition_id WHERE n.bucket = 'RECORDS' AND p.profile_id IN (?1, ?2)",
			)
				.bind(ann.profileId, ann.absorbedId)
				.first<number>("n"),
		);

		const { deleted, erasure } = await deleteProfileViaApi(ann.profileId);
		expect(deleted.removed.archiveObjects).toBe(1 + records);
		expect(erasure.stores.archive).toEqual({
			complete: false,
			queued: 1 + records,
			pending: 1,
		});
		// Within the grace period nothing is rewritten: a write under way may still land.
		await finishErasures(env, new Date());
		expect((await statusOf(deleted.deletionId)).stores.archive).toMatchObject({
			pending: 1,
		});
		expect(await findInR2(needles(ann.ids))).not.toEqual([]);

		const run = await finishErasures(env, afterGrace());
		// The archive's two objects (one rewritten, one deleted) and the events of record.
		expect(run.archive.removedEvents).toBeGreaterThanOrEqual(ann.items.length);
		expect(
			(await recordedEvents()).filter(
				(e) => e.event.context?.profileId === ann.profileId,
			),
		).toEqual([]);
		expect(await findInR2(needles(ann.ids))).toEqual([]);
		const after = await archiveObjects();
		const kept = [...after].filter(([k]) => k.startsWith(prefix));
		expect(kept).toHaveLength(2);
		// Every one of Bob's events is still there.
		for (const item of bob.items)
			expect(
				kept.filter(([, text]) => text.includes(item.event.messageId)),
			).toHaveLength(1);
		expect((await statusOf(deleted.deletionId)).stores.archive).toEqual({
			complete: true,
			queued: 1 + records,
			pending: 0,
		});
		// Nothing left to do: a second run changes nothing.
		const again = await finishErasures(env, afterGrace());
		expect(again.archive).toEqual({ objects: {}, removedEvents: 0 });
		expect(await archiveObjects()).toEqual(after);
	});

	it("still rewrites an object whose write was under way when the deletion committed", async () => {
		const [ann] = await annAndBob();
		const prefix = `e${tenant()}/`;
		await deleteProfileViaApi(ann.profileId);
		// A send that passed the erased check before the deletion writes its object after it.
		const verdicts = await r2.send(
			inOneHour(ann.items.slice(0, 2)),
			sendContext({ prefix }),
		);
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok"]);
		expect(await findInR2(needles(ann.ids))).not.toEqual([]);
		expect(
			await env.DB.prepare(
				"SELECT COUNT(*) AS n FROM archive_profile_partitions WHERE profile_id = ?1",
			)
				.bind(ann.profileId)
				.first<number>("n"),
		).toBe(0);
		// The events of record of the person are queued too (their own bucket, RECORDS).
		expect(
			(await dueRewrites(env.DB, afterGrace(), 100))
				.filter((r) => r.bucket === "ARCHIVE" && r.partition.startsWith(prefix))
				.map((r) => r.partition),
		).toEqual([expect.stringMatching(new RegExp(`^${prefix}`))]);
		await finishErasures(env, afterGrace());
		expect(await findInR2(needles(ann.ids))).toEqual([]);
	});

	it("does not write an object it could not index", async () => {
		const [ann] = await annAndBob();
		const prefix = `e${tenant()}/`;
		const ctx = sendContext({ prefix });
		const broken = {
			...ctx,
			env: { ...ctx.env, DB: env.UNMIGRATED_DB },
		};
		const verdicts = await r2.send(ann.items.slice(0, 1), broken);
		expect(verdicts).toEqual([
			expect.objectContaining({
				outcome: "retry-later",
				error: expect.stringMatching(/^archive index write failed/),
			}),
		]);
		expect((await env.ARCHIVE.list({ prefix })).objects).toEqual([]);
	});
});

describe("erasure: the deletion record", { timeout: TEST_MS }, () => {
	it("keeps the identifiers in clear until forwarding is final, then only their hashes", async () => {
		const [ann] = await annAndBob();
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		const { deleted } = await deleteProfileViaApi(ann.profileId);
		const record = () =>
			env.DB.prepare("SELECT * FROM profile_deletions WHERE id = ?1")
				.bind(deleted.deletionId)
				.first<{ identities: string; identities_hashed_at: string | null }>();

		// Forwarding has not started: the cron needs the identifiers.
		await finishErasures(env, new Date());
		expect((await record())?.identities).toContain(ann.ids.email);
		expect(
			(await statusOf(deleted.deletionId)).stores.identifiers,
		).toMatchObject({
			complete: false,
			reason: expect.stringMatching(/hourly cron forwards/),
		});

		await forwardDeletions(env, new Date());
		await waitFor(
			async () =>
				(await forwardingOf(`hook-${key}`))[0]?.status === "delivered",
			QUEUE_WAIT_MS,
		);
		const [forwarded] = await received("webhook", key);
		expect(JSON.stringify(forwarded?.body)).toContain(ann.ids.userId);

		const run = await finishErasures(env, new Date());
		expect(run.hashed).toBe(1);
		const hashed = await record();
		expect(hashed?.identities_hashed_at).not.toBeNull();
		for (const needle of needles(ann.ids))
			expect(JSON.stringify(hashed).toLowerCase()).not.toContain(
				needle.toLowerCase(),
			);
		// The same hashes as the suppressions: one rule.
		const entries = JSON.parse(hashed?.identities ?? "[]") as {
			type: string;
			hash: string;
		}[];
		expect(entries).toContainEqual({
			type: "user_id",
			hash: await suppressionKey({ type: "user_id", value: ann.ids.userId }),
		});
		const suppressed = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM identity_suppressions WHERE key_hash IN (SELECT json_extract(value, '$.hash') FROM json_each(?1))",
		)
			.bind(hashed?.identities)
			.first<number>("n");
		expect(suppressed).toBe(entries.length);

		// The events of record are rewritten after the grace period.
		await finishErasures(env, afterGrace());
		const status = await statusOf(deleted.deletionId);
		expect(status).toMatchObject({
			complete: true,
			completedAt: expect.any(String),
			stores: {
				destinations: {
					complete: true,
					byDestination: { [`hook-${key}`]: { status: "delivered" } },
				},
				identifiers: { complete: true, hashedAt: expect.any(String) },
			},
		});
	});

	it("keeps them while a failed forwarding can be replayed, and hashes them once it is delivered", async () => {
		const [ann] = await annAndBob();
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		await script("webhook", key, [{ status: 422, body: { error: "nope" } }]);
		const { deleted } = await deleteProfileViaApi(ann.profileId);
		await forwardDeletions(env, new Date());
		await waitFor(
			async () => (await forwardingOf(`hook-${key}`))[0]?.status === "failed",
			QUEUE_WAIT_MS,
		);
		expect((await finishErasures(env, new Date())).hashed).toBe(0);
		expect((await statusOf(deleted.deletionId)).stores).toMatchObject({
			destinations: {
				complete: true,
				byDestination: { [`hook-${key}`]: { status: "failed" } },
			},
			identifiers: {
				complete: false,
				reason: expect.stringMatching(/can be replayed/),
			},
		});

		const replayed = await api("/admin/replay", {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ destination: `hook-${key}` }),
		});
		expect(await replayed.json()).toMatchObject({ replayed: 1 });
		await waitFor(
			async () =>
				(await forwardingOf(`hook-${key}`)).every(
					(r) => r.status === "delivered",
				),
			QUEUE_WAIT_MS,
		);
		const requests = await received("webhook", key);
		expect(requests.map((r) => r.status)).toEqual([422, 200]);
		expect(JSON.stringify(requests[1]?.body)).toContain(ann.ids.userId);
		expect((await finishErasures(env, new Date())).hashed).toBe(1);
		expect(
			(await statusOf(deleted.deletionId)).stores.destinations,
		).toMatchObject({
			byDestination: { [`hook-${key}`]: { status: "delivered" } },
		});
	});

	it("hashes them once a failed forwarding's log row has expired, and never forwards the deletion again", async () => {
		const [ann] = await annAndBob();
		const key = tenant();
		await useErasureConfig([webhook(key)]);
		await script("webhook", key, [{ status: 401 }]);
		const { deleted } = await deleteProfileViaApi(ann.profileId);
		await forwardDeletions(env, new Date());
		await waitFor(
			async () => (await forwardingOf(`hook-${key}`))[0]?.status === "failed",
			QUEUE_WAIT_MS,
		);
		expect((await finishErasures(env, new Date())).hashed).toBe(0);
		// The log's retention deletes the finished rows; no replay can find them any more.
		await pruneDeliveryLog(env.DB, new Date(Date.now() + 60_000), new Date());
		expect(await forwardingOf(`hook-${key}`)).toEqual([]);
		expect(await failuresOf(`hook-${key}`)).toEqual([]);
		expect((await finishErasures(env, new Date())).hashed).toBe(1);
		// The record keeps the outcome the log no longer has.
		expect((await statusOf(deleted.deletionId)).stores).toMatchObject({
			destinations: {
				complete: true,
				byDestination: { [`hook-${key}`]: { status: "failed" } },
			},
			identifiers: { complete: true },
		});

		const again = await forwardDeletions(env, new Date());
		expect(again.queued).not.toHaveProperty(`hook-${key}`);
		expect(await batchesOf(`hook-${key}`)).toEqual([]);
		expect(await received("webhook", key)).toHaveLength(1);
	});
});

describe("GET /v1/profiles/deletions/:id", { timeout: TEST_MS }, () => {
	it("answers 400 for an id that is not a deletion id, 404 for an unknown one, 401 without the token", async () => {
		expect((await api("/v1/profiles/deletions/abc")).status).toBe(400);
		expect((await api("/v1/profiles/deletions/0")).status).toBe(400);
		const missing = await api("/v1/profiles/deletions/999999");
		expect(missing.status).toBe(404);
		expect(await missing.json()).toMatchObject({ error: "deletion_not_found" });
		const anonymous = await exports.default.fetch(
			"https://collector.example.com/v1/profiles/deletions/1",
		);
		expect(anonymous.status).toBe(401);
	});

	it("finds no identifier of the person in D1 once the erasure is complete", async () => {
		const [ann] = await annAndBob();
		await useErasureConfig();
		const { deleted } = await deleteProfileViaApi(ann.profileId);
		await forwardDeletions(env, new Date());
		await finishErasures(env, afterGrace());
		expect((await statusOf(deleted.deletionId)).complete).toBe(true);
		expect(await findInD1(needles(ann.ids))).toEqual([]);
	});
});
