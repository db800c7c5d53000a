import { env } from "cloudflare:workers";
import type { WireEvent } from "@conduit/protocol";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { fixtureEvents } from "../../test/helpers";
import { storedEvents } from "../../test/helpers/stored-events";
import type { QueuedEvent } from "../event";
import { RECORD_COLUMNS, RECORD_DECOMPRESSORS } from "./parquet";
import { RECORD_CONTENT_TYPE, readRecords, recordObjects } from "./records";

const fixture = fixtureEvents as WireEvent[];

/** Writes the objects to the real local R2 bucket under a fresh prefix, as the consumer will. */
async function putAll(
	objects: Awaited<ReturnType<typeof recordObjects>>,
): Promise<void> {
	for (const object of objects)
		await env.ARCHIVE.put(object.key, object.body, {
			httpMetadata: { contentType: RECORD_CONTENT_TYPE },
		});
}

async function readBack(key: string): Promise<QueuedEvent[]> {
	const object = await env.ARCHIVE.get(key);
	if (!object) throw new Error(`no object at ${key}`);
	return readRecords(await object.arrayBuffer());
}

const byId = (events: readonly QueuedEvent[]) =>
	[...events].sort((a, b) => (a.event.messageId < b.event.messageId ? -1 : 1));

describe("recordObjects and readRecords", () => {
	it("write every event once, one object per source and hour, and read them back as they were", async () => {
		const prefix = `records-test/${crypto.randomUUID()}/`;
		const web = storedEvents(fixture, 240, { hours: 3 });
		const app = storedEvents(fixture.slice(0, 50), 50, {
			sourceId: "app",
			start: "2026-11-01T09:30:00.000Z",
			hours: 0.5,
		});
		const objects = await recordObjects([...web, ...app], prefix);

		expect(
			objects.map((o) => o.key.split("/").slice(2, 5).join("/")).sort(),
		).toEqual([
			"source=app/dt=2026-11-01/hour=09",
			"source=web/dt=2026-11-01/hour=08",
			"source=web/dt=2026-11-01/hour=09",
			"source=web/dt=2026-11-01/hour=10",
		]);
		expect(objects.reduce((sum, o) => sum + o.events, 0)).toBe(290);
		await putAll(objects);

		const listed = await env.ARCHIVE.list({ prefix });
		expect(listed.objects.map((o) => o.key).sort()).toEqual(
			objects.map((o) => o.key).sort(),
		);
		const read = (
			await Promise.all(objects.map((o) => readBack(o.key)))
		).flat();
		expect(byId(read)).toEqual(byId([...web, ...app]));
		const hour9 = objects.find((o) =>
			o.key.includes("source=web/dt=2026-11-01/hour=09"),
		);
		expect(hour9?.hour).toBe("2026-11-01T09:00:00.000Z");
		expect(hour9?.sourceId).toBe("web");
	});

	it("write the same bytes at the same key for the same events in any order", async () => {
		const events = storedEvents(fixture, 120);
		const shuffled = [...events].reverse();
		const [first] = await recordObjects(events);
		const [again] = await recordObjects(shuffled);
		expect(again?.key).toBe(first?.key);
		expect(again?.body).toEqual(first?.body);
		const [fewer] = await recordObjects(events.slice(1));
		expect(fewer?.key).not.toBe(first?.key);
	});

	it("order rows by receivedAt and fill the typed columns", async () => {
		const events = storedEvents(fixture, 40).reverse();
		const [object] = await recordObjects(events);
		if (!object) throw new Error("no object");
		const rows = await parquetReadObjects({
			file: object.body.slice().buffer,
			compressors: RECORD_DECOMPRESSORS,
			columns: [...RECORD_COLUMNS],
		});
		const expected = [...events].reverse();
		expect(rows).toEqual(
			expected.map(({ sourceId, event }) => ({
				messageId: event.messageId,
				sourceId,
				type: event.type,
				event: event.event ?? null,
				userId: event.userId ?? null,
				anonymousId: event.anonymousId ?? null,
				profileId: event.context.profileId,
				timestamp: new Date(event.timestamp),
				receivedAt: new Date(event.receivedAt),
			})),
		);
		expect(object.profileIds).toEqual(
			[
				...new Set(events.map((e) => e.event.context.profileId as string)),
			].sort(),
		);
		const schema = parquetMetadata(object.body.slice().buffer).schema;
		expect(schema.find((s) => s.name === "receivedAt")?.logical_type).toEqual({
			type: "TIMESTAMP",
			isAdjustedToUTC: true,
			unit: "MILLIS",
		});
		expect(schema.find((s) => s.name === "payload")?.converted_type).toBe(
			"JSON",
		);
	});

	it("give back fields a column cannot hold exactly", async () => {
		const odd: QueuedEvent = {
			sourceId: "server",
			event: {
				type: "track",
				messageId: "odd-1",
				event: "Order Completed",
				// A number, not a string: kept in the payload, its column left empty.
				userId: 42 as unknown as string,
				// Not as toISOString writes it: the column holds the instant, the payload the text.
				timestamp: "2026-11-01T10:00:00+02:00",
				receivedAt: "2026-11-01T08:00:01.000Z",
				context: { traits: { plan: "pro" }, "__proto__-like": true },
				properties: { revenue: 12.5, items: [{ sku: "a" }], note: null },
			},
		};
		const [object] = await recordObjects([odd]);
		if (!object) throw new Error("no object");
		expect(object.profileIds).toEqual([]);
		expect(await readRecords(object.body.slice().buffer)).toEqual([odd]);
		const [row] = await parquetReadObjects({
			file: object.body.slice().buffer,
			compressors: RECORD_DECOMPRESSORS,
			columns: ["userId", "profileId", "timestamp"],
		});
		expect(row).toEqual({
			userId: null,
			profileId: null,
			timestamp: new Date("2026-11-01T08:00:00.000Z"),
		});
	});

	it("write nothing for no events", async () => {
		expect(await recordObjects([])).toEqual([]);
	});
});
