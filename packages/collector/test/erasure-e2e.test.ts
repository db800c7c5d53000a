import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REWRITE_GRACE_MS } from "../src/archive/rewrite";
import { CRONS } from "../src/cron";
import { park } from "../src/db/parked";
import worker from "../src/index";
import {
	deliveredCount,
	failuresOf,
	forwardingOf,
	postBatch,
	received,
	script,
	tenant,
	vendorUrl,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import {
	archiveObjects,
	deleteProfileViaApi,
	findInD1,
	findInR2,
	identifiersOf,
	needles,
	statusOf,
	useErasureConfig,
} from "./helpers/erasure";
import { ownerOf } from "./helpers/identity";
import { recordedEvents } from "./helpers/records";

/** Real queues (1 s batch windows) and a 6 s Retry-After make this test take about 15 s. */
const E2E_MS = 40_000;
/** The webhook's first answer to Ann's batch: retry in this many seconds. */
const RETRY_AFTER_SECONDS = 6;

/** Runs the Worker's scheduled handler for a cron, as if fired at `at`. */
async function cron(expression: string, at: number) {
	await worker.scheduled(
		createScheduledController({ cron: expression, scheduledTime: at }),
		env,
	);
}

/** Waits until the log has `count` events delivered to the destination, in all. */
async function delivered(destinationId: string, count: number) {
	await waitFor(
		async () => (await deliveredCount(destinationId)) === count,
		10_000,
	);
}

/** Waits until every given messageId has a failure row at the destination, retrying. */
async function retrying(destinationId: string, messageIds: readonly string[]) {
	await waitFor(async () => {
		const rows = await failuresOf(destinationId);
		return messageIds.every((id) =>
			rows.some((r) => r.message_id === id && r.status === "retrying"),
		);
	}, 10_000);
}

describe("erasure end to end", () => {
	it("leaves none of the person's identifiers in any table, archive object or later destination request", {
		timeout: E2E_MS,
	}, async () => {
		const key = tenant();
		const hook = `hook-${key}`;
		const prefix = `e2e${key}/`;
		const archive = `archive-${key}`;
		await useErasureConfig([
			{
				id: hook,
				type: "webhook",
				retry: { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 2 },
				settings: {
					url: `${vendorUrl("webhook", key)}/in`,
					secrets: [{ secret: "WEBHOOK_SECRET" }],
				},
			},
			{ id: archive, type: "r2", settings: { prefix } },
		]);
		const ann = identifiersOf("ann");
		const bob = identifiersOf("bob");
		const at = (offsetMs: number) =>
			new Date(Date.now() - 60_000 + offsetMs).toISOString();
		const event = (
			messageId: string,
			fields: Record<string, unknown>,
			offsetMs: number,
		) => ({ messageId, timestamp: at(offsetMs), ...fields });

		// Bob alone, then Ann's first visit alone: two archive objects, delivered everywhere.
		const bobFirst = [
			event(
				`${bob.userId}-identify`,
				{
					type: "identify",
					userId: bob.userId,
					anonymousId: bob.anonymousId,
					traits: { email: bob.email, name: bob.name },
				},
				0,
			),
		];
		const annFirst = [
			event(
				`${ann.userId}-page`,
				{ type: "page", anonymousId: ann.anonymousId, name: "Home" },
				1000,
			),
		];
		for (const [n, batch] of [bobFirst, annFirst].entries()) {
			expect((await postBatch(batch)).status).toBe(200);
			await delivered(hook, n + 1);
			await delivered(archive, n + 1);
		}

		// Ann signs in (email, name, phone) and buys; Bob's next event is in the same batch. The
		// webhook answers 503 first: the seven events wait for their retry.
		await script("webhook", key, [
			{
				status: 503,
				headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
			},
		]);
		const annSignedIn = [
			event(
				`${ann.userId}-identify`,
				{
					type: "identify",
					userId: ann.userId,
					anonymousId: ann.anonymousId,
					traits: { email: ann.email, name: ann.name, phone: ann.phone },
				},
				2000,
			),
			...Array.from({ length: 5 }, (_, i) =>
				event(
					`${ann.userId}-order-${i}`,
					{
						type: "track",
						userId: ann.userId,
						event: "Order Completed",
						properties: { revenue: 20 + i, receipt_email: ann.email },
						context: { traits: { name: ann.name, phone: ann.phone } },
					},
					3000 + i * 100,
				),
			),
		];
		const bobNext = event(
			`${bob.userId}-track`,
			{ type: "track", userId: bob.userId, event: "Product Viewed" },
			4000,
		);
		expect((await postBatch([...annSignedIn, bobNext])).status).toBe(200);
		await retrying(
			hook,
			[...annSignedIn, bobNext].map((e) => e.messageId),
		);
		await delivered(archive, 9);
		const annProfile = (await ownerOf("user_id", ann.userId)) ?? "";
		expect(annProfile).not.toBe("");

		// What the pipeline gave up on: two of Ann's, one of Bob's.
		await park(
			env.DB,
			[
				{
					kind: "event",
					sourceId: "web",
					messageId: `${ann.userId}-bad`,
					userId: ann.userId,
					reason: "storage_refused",
					error: "malformed JSON",
					payload: JSON.stringify({ userId: ann.userId, email: ann.email }),
				},
				{
					kind: "delivery",
					sourceId: "web",
					messageId: `${ann.userId}-order-0`,
					destinationId: hook,
					profileId: annProfile,
					reason: "delivery_dead",
					error: "HTTP 503",
					payload: JSON.stringify(annSignedIn[1]),
				},
				{
					kind: "event",
					sourceId: "web",
					messageId: `${bob.userId}-bad`,
					userId: bob.userId,
					reason: "storage_refused",
					error: "malformed JSON",
					payload: JSON.stringify({ userId: bob.userId }),
				},
			],
			new Date(),
		);

		const requestsBefore = (await received("webhook", key)).length;
		const { deleted, erasure } = await deleteProfileViaApi(annProfile);
		expect(deleted.removed).toEqual({
			profiles: 1,
			identities: 4,
			traits: 3,
			events: 7,
			// The six waiting events at the webhook: their failure rows, and their copies in the
			// body of the batch waiting for its retry.
			deliveries: 12,
			cancelledDeliveries: 6,
			parked: 2,
			// Two `r2` archive objects and two events-of-record objects hold Ann's events, all
			// received in one hour: one partition of each bucket is queued.
			archiveObjects: 2,
		});
		expect(erasure).toMatchObject({
			complete: false,
			stores: {
				events: { complete: false, removed: 7, remaining: 1 },
				deliveryLog: { complete: true },
				pendingDeliveries: { complete: true, cancelled: 6 },
				parked: { complete: true, removed: 2 },
				archive: { complete: false, pending: 1 },
				destinations: { complete: false, started: false },
				identifiers: { complete: false },
			},
		});

		// The retry comes: Bob's event goes out, Ann's do not.
		await waitFor(
			async () =>
				webhookEvents(
					(await received("webhook", key)).slice(requestsBefore),
				).some((e) => e.messageId === bobNext.messageId),
			(RETRY_AFTER_SECONDS + 5) * 1000,
		);
		const annRows = (await failuresOf(hook)).filter((r) =>
			r.message_id.startsWith(ann.userId),
		);
		expect(annRows).toEqual([]);
		await delivered(hook, 3);

		// The crons: hourly forwards the deletion; minutely (past the archive's grace period)
		// rewrites the events of record and the archive, and hashes the record.
		await cron(CRONS.retention, Date.now());
		await waitFor(
			async () =>
				(await forwardingOf(hook)).some(
					(r) =>
						r.deletion_id === deleted.deletionId && r.status === "delivered",
				),
			10_000,
		);
		await cron(CRONS.drainSpool, Date.now() + REWRITE_GRACE_MS + 60_000);

		const status = await statusOf(deleted.deletionId);
		expect(status.complete).toBe(true);
		expect(status.completedAt).toEqual(expect.any(String));
		for (const [store, state] of Object.entries(status.stores))
			expect(state.complete, store).toBe(true);

		// The scans.
		const annNeedles = needles(ann);
		expect(await findInD1(annNeedles)).toEqual([]);
		expect(await findInR2(annNeedles)).toEqual([]);
		expect(
			(await recordedEvents()).filter((e) =>
				e.event.messageId.startsWith(ann.userId),
			),
		).toEqual([]);
		const after = (await received("webhook", key)).slice(requestsBefore);
		expect(after.flatMap((r) => r.violations)).toEqual([]);
		const deletionRequests = after.filter(
			(r) => (r.body as { type?: string }).type === "profile.deleted",
		);
		// The forwarded deletion carries the identifiers by design, so the receiver finds its copy.
		expect(deletionRequests).toHaveLength(1);
		expect(deletionRequests[0]?.body).toMatchObject({
			data: { profileId: annProfile },
		});
		const others = after.filter((r) => !deletionRequests.includes(r));
		expect(others.length).toBeGreaterThan(0);
		for (const request of others) {
			const text = JSON.stringify(request.body).toLowerCase();
			for (const needle of annNeedles)
				expect(text, needle).not.toContain(needle.toLowerCase());
		}

		// Bob is untouched: his events, archive lines and parked row are all there.
		const bobEvents = (await recordedEvents()).filter((e) =>
			e.event.messageId.startsWith(bob.userId),
		);
		expect(bobEvents).toHaveLength(2);
		const archived = [...(await archiveObjects())].filter(([k]) =>
			k.startsWith(prefix),
		);
		expect(archived).toHaveLength(2);
		for (const e of [...bobFirst, bobNext])
			expect(archived.some(([, text]) => text.includes(e.messageId))).toBe(
				true,
			);
		expect(await findInD1([`${bob.userId}-bad`])).toEqual([
			`parked: ${bob.userId}-bad`,
		]);
	});
});
