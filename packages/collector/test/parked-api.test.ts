import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { type ParkInput, park } from "../src/db/parked";
import {
	adminFetch,
	batchesOf,
	deliveredCount,
	failuresOf,
	postBatch,
	received,
	script,
	trackEvent,
	useOneAttemptWebhook,
	waitFor,
	webhookEvents,
} from "./delivery-helpers";
import { enriched } from "./faults";
import { uniqueId, useConfig, waitForStored } from "./helpers";
import { recordsOf } from "./helpers/records";

function api(path: string, init: RequestInit = {}, token?: string | null) {
	return adminFetch(`/admin/parked${path}`, init, token);
}

/** The id of the parked row of a delivery of `messageId`, once the dead-letter queue wrote it. */
function parkedDelivery(messageId: string): Promise<number> {
	return waitFor(async () => {
		const row = await env.DB.prepare(
			"SELECT id FROM parked WHERE message_id = ?1 AND kind = 'delivery'",
		)
			.bind(messageId)
			.first<{ id: number }>();
		return row?.id;
	}, 10_000);
}

async function json<T = Record<string, unknown>>(response: Response) {
	return { status: response.status, body: (await response.json()) as T };
}

const replay = (request: unknown) =>
	api("/replay", { method: "POST", body: JSON.stringify(request) });

/** Parks event rows and returns their ids, in order. */
async function parkEvents(
	payloads: readonly string[],
	reason: ParkInput["reason"] = "dead_lettered",
	sourceId = "web",
): Promise<number[]> {
	const messageIds = payloads.map(() => uniqueId("parked"));
	await park(
		env.DB,
		payloads.map((payload, i) => ({
			kind: "event",
			sourceId,
			messageId: messageIds[i],
			reason,
			error: "gave up after 11 attempts",
			payload,
		})),
		new Date(),
	);
	const { results } = await env.DB.prepare(
		"SELECT id FROM parked WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
	)
		.bind(JSON.stringify(messageIds))
		.all<{ id: number }>();
	return results.map((r) => r.id);
}

interface Row {
	id: number;
	reason: string;
	error: string;
	replayedAt: string | null;
	payload?: string;
	payloadBytes?: number;
}

beforeEach(() => useConfig());

describe("/admin/parked", () => {
	it("is guarded by the admin token and validates its input", async () => {
		expect((await api("", {}, null)).status).toBe(401);
		expect((await api("", {}, "wrong")).status).toBe(401);
		const bad = await json<{ message: string }>(
			await api("?kind=nope&limit=0"),
		);
		expect(bad.status).toBe(400);
		expect(bad.body.message).toContain("kind: must be event or delivery");
		expect(bad.body.message).toContain("limit: must be at least 1");
		expect((await api("/abc")).status).toBe(400);
		expect((await api("/999999999")).status).toBe(404);
		const badReplay = await replay({ ids: [] });
		expect(badReplay.status).toBe(400);
		expect((await replay({ kind: "event", limit: 5000 })).status).toBe(400);
	});

	it("lists waiting rows page by page without payloads, and shows one with its payload", async () => {
		const payloads = ["a", "b", "c"].map((p) =>
			JSON.stringify(enriched(uniqueId(), { properties: { p } })),
		);
		const ids = await parkEvents(payloads, "storage_refused");
		const after = (ids[0] ?? 1) - 1;
		const first = await json<{ rows: Row[]; next?: number }>(
			await api(`?kind=event&reason=storage_refused&after=${after}&limit=2`),
		);
		expect(first.body.rows.map((r) => r.id)).toEqual(ids.slice(0, 2));
		expect(first.body.rows[0]).not.toHaveProperty("payload");
		expect(first.body.rows[0]?.payloadBytes).toBe(payloads[0]?.length);
		expect(first.body.next).toBe(ids[1]);
		const second = await json<{ rows: Row[]; next?: number }>(
			await api(`?kind=event&reason=storage_refused&after=${first.body.next}`),
		);
		expect(second.body.rows.map((r) => r.id)).toEqual([ids[2]]);
		expect(second.body.next).toBeUndefined();

		const shown = await json<{ row: Row }>(await api(`/${ids[1]}`));
		expect(shown.body.row).toMatchObject({
			id: ids[1],
			reason: "storage_refused",
			payload: payloads[1],
			replayedAt: null,
		});
	});

	it("replays an event row through validation onto EVENTS; it is stored once however often it is replayed", {
		timeout: 15_000,
	}, async () => {
		const event = enriched(uniqueId());
		const [id] = await parkEvents([JSON.stringify(event)]);
		const first = await json(await replay({ ids: [id] }));
		expect(first.body).toEqual({
			success: true,
			replayed: 1,
			refused: [],
			missing: [],
		});
		const [row] = await waitForStored([event.messageId]);
		expect(JSON.parse(row?.payload ?? "{}")).toEqual({
			...event,
			context: {
				...event.context,
				profileId: expect.stringMatching(/^prof_/),
			},
		});
		const shown = await json<{ row: Row }>(await api(`/${id}`));
		expect(shown.body.row.replayedAt).not.toBeNull();

		// Again, with a new event beside it: one message carries both, so once the new one is
		// stored the consumer has seen the copy too.
		const beside = enriched(uniqueId());
		const [besideId] = await parkEvents([JSON.stringify(beside)]);
		expect(
			(await json(await replay({ ids: [id, besideId, 999_999_999] }))).body,
		).toMatchObject({ replayed: 2, missing: [999_999_999] });
		await waitForStored([beside.messageId]);
		expect(await recordsOf([event.messageId])).toHaveLength(1);
	});

	it("keeps a row that fails validation again parked, with the new reason and error", async () => {
		const [invalid, notJson] = await parkEvents([
			JSON.stringify(enriched(uniqueId(), { timestamp: "not a date" })),
			"{oops",
		]);
		const result = await json<{
			replayed: number;
			refused: { id: number; error: string }[];
		}>(await replay({ ids: [invalid, notJson] }));
		expect(result.body.replayed).toBe(0);
		expect(result.body.refused).toEqual([
			{
				id: invalid,
				error: expect.stringContaining(
					"timestamp: must be an ISO-8601 timestamp",
				),
			},
			{ id: notJson, error: expect.stringContaining("not JSON") },
		]);
		const shown = await json<{ row: Row }>(await api(`/${invalid}`));
		expect(shown.body.row).toMatchObject({
			reason: "replay_refused",
			error: expect.stringContaining("timestamp"),
			replayedAt: null,
		});
	});

	it("replays every waiting row of a kind and reason, page by page", async () => {
		const events = [0, 1, 2].map(() => enriched(uniqueId()));
		await parkEvents(
			events.map((e) => JSON.stringify(e)),
			"spool_unsendable",
		);
		const first = await json<{ replayed: number; next?: number }>(
			await replay({ kind: "event", reason: "spool_unsendable", limit: 2 }),
		);
		expect(first.body.replayed).toBe(2);
		const second = await json<{ replayed: number; next?: number }>(
			await replay({
				kind: "event",
				reason: "spool_unsendable",
				after: first.body.next,
				limit: 2,
			}),
		);
		expect(second.body).toMatchObject({ replayed: 1 });
		expect(second.body.next).toBeUndefined();
		expect(await waitForStored(events.map((e) => e.messageId))).toHaveLength(3);
	});

	it("replays a dead delivery to its destination, which then gets it", {
		timeout: 20_000,
	}, async () => {
		const { key, id } = await useOneAttemptWebhook();
		await script("webhook", key, [{ status: 400 }]);
		const event = trackEvent();
		await postBatch([event]);
		const parked = await parkedDelivery(String(event.messageId));
		expect((await json(await replay({ ids: [parked] }))).body).toMatchObject({
			replayed: 1,
		});
		// The replay forgot the failed row and sent the event in a batch of its own.
		expect(await failuresOf(id)).toEqual([]);
		await waitFor(async () => (await deliveredCount(id)) === 1);
		const requests = await received("webhook", key);
		expect(requests.map((r) => r.status)).toEqual([400, 200]);
		expect(webhookEvents(requests.slice(1)).map((e) => e.messageId)).toEqual([
			event.messageId,
		]);
	});

	it("sends a dead delivery once when it is replayed from the log and then from its parked row", {
		timeout: 20_000,
	}, async () => {
		const { key, id } = await useOneAttemptWebhook();
		await script("webhook", key, [{ status: 400 }]);
		const event = trackEvent();
		await postBatch([event]);
		const parked = await parkedDelivery(String(event.messageId));
		const fromLog = await adminFetch("/admin/replay", {
			method: "POST",
			body: JSON.stringify({ destination: id }),
		});
		expect(await fromLog.json()).toMatchObject({ replayed: 1 });
		// The log's replay marks the parked row replayed: it no longer waits for an operator.
		const row = await env.DB.prepare(
			"SELECT replayed_at FROM parked WHERE id = ?1",
		)
			.bind(parked)
			.first<{ replayed_at: string | null }>();
		expect(row?.replayed_at).toEqual(expect.any(String));
		await waitFor(async () => (await deliveredCount(id)) === 1, 10_000);
		expect((await json(await replay({ ids: [parked] }))).body).toMatchObject({
			replayed: 1,
		});
		// Give a copy two of the queue's 1 s batch windows to go out: none does, and no batch
		// was logged for it.
		await new Promise((resolve) => setTimeout(resolve, 2000));
		expect(await batchesOf(id)).toHaveLength(2);
		expect((await received("webhook", key)).map((r) => r.status)).toEqual([
			400, 200,
		]);
	});

	it("keeps a delivery row whose destination left the config parked", async () => {
		await park(
			env.DB,
			[
				{
					kind: "delivery",
					sourceId: "web",
					messageId: uniqueId(),
					destinationId: "gone",
					reason: "delivery_dead",
					error: "HTTP 500",
					payload: JSON.stringify({
						destinationId: "gone",
						event: enriched(uniqueId()),
					}),
				},
			],
			new Date(),
		);
		const row = await env.DB.prepare(
			"SELECT id FROM parked WHERE destination_id = 'gone'",
		).first<{ id: number }>();
		const result = await json<{ refused: { error: string }[] }>(
			await replay({ ids: [row?.id] }),
		);
		expect(result.body.refused).toEqual([
			{ id: row?.id, error: "destination 'gone' is not in the config" },
		]);
	});
});
