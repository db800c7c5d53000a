import { readFileSync } from "node:fs";
import { Analytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	DEV_WRITE_KEY,
	type LocalCollector,
	startCollector,
} from "./support/collector";
import { EVENT_JSON, queryEventsFast, waitForRecords } from "./support/events";

interface FixtureEvent {
	type: "track" | "identify" | "page" | "group";
	messageId: string;
	anonymousId: string;
	userId?: string;
	timestamp: string;
	event?: string;
	name?: string;
	groupId?: string;
	context: Record<string, unknown>;
	properties?: Record<string, unknown>;
	traits?: Record<string, unknown>;
}

const fixtures = readFileSync(
	new URL("./fixtures/events.ndjson", import.meta.url),
	"utf8",
)
	.trim()
	.split("\n")
	.map((line) => JSON.parse(line) as FixtureEvent);

let collector: LocalCollector;
beforeAll(async () => {
	collector = await startCollector();
});
afterAll(() => collector?.close());

/** A DuckDB list literal of strings. */
function sqlList(values: readonly string[]): string {
	return `[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")}]`;
}

interface Row {
	message_id: string;
	type: string;
	payload: string;
}

describe("@segment/analytics-node pointed at the collector", () => {
	// The consumer batches for up to a second, then writes the events of record.
	it("delivers every event into storage, enriched, exactly once", {
		timeout: 30_000,
	}, async () => {
		const analytics = new Analytics({
			writeKey: DEV_WRITE_KEY,
			host: collector.url.origin,
			flushAt: 50,
			flushInterval: 200,
		});
		const errors: unknown[] = [];
		analytics.on("error", (error) => errors.push(error));
		const events = fixtures.slice(0, 200);
		const send = (event: FixtureEvent) => {
			const common = {
				anonymousId: event.anonymousId,
				...(event.userId ? { userId: event.userId } : {}),
				messageId: event.messageId,
				timestamp: new Date(event.timestamp),
				context: event.context,
			};
			if (event.type === "track")
				analytics.track({
					...common,
					event: event.event ?? "",
					properties: event.properties,
				});
			else if (event.type === "identify")
				analytics.identify({ ...common, traits: event.traits });
			else if (event.type === "page")
				analytics.page({
					...common,
					name: event.name,
					properties: event.properties,
				});
			else
				analytics.group({
					...common,
					groupId: event.groupId ?? "",
					traits: event.traits,
				});
		};
		events.forEach(send);
		// The same events again, as a client retrying after a lost response would.
		events.slice(0, 50).forEach(send);
		await analytics.closeAndFlush({ timeout: 15_000 });
		expect(errors).toEqual([]);

		const ids = events.map((event) => event.messageId);
		const wanted = new Set<string>(ids);
		await waitForRecords(
			collector,
			(stored) =>
				stored.filter((e) => wanted.has(e.event.messageId)).length >=
				ids.length,
		);
		const results = await queryEventsFast<Row>(
			collector,
			`SELECT messageId AS message_id, type, ${EVENT_JSON} AS payload FROM events
WHERE messageId IN (SELECT unnest(${sqlList(ids)}))`,
		);
		expect(results).toHaveLength(ids.length);
		expect(new Set(results.map((row) => row.message_id)).size).toBe(ids.length);

		const stored = new Map(
			results.map((row) => [
				row.message_id,
				JSON.parse(row.payload) as Record<string, unknown> & {
					context: Record<string, unknown>;
				},
			]),
		);
		for (const event of events) {
			const row = stored.get(event.messageId);
			expect(row?.type).toBe(event.type);
			expect(row?.context.library).toMatchObject({
				name: "@segment/analytics-node",
			});
			expect(typeof row?.receivedAt).toBe("string");
			expect(row?.originalTimestamp).toBe(event.timestamp);
			expect(row?.context.browser).toBeDefined();
			expect(row?.context.referrer).toBeDefined();
			// Local requests come from 127.0.0.1, kept as its /24 under the default IP policy.
			expect(row?.context.ip).toBe("127.0.0.0");
		}
		const campaign = [...stored.values()].filter(
			(event) => event.context.campaign !== undefined,
		);
		expect(campaign.length).toBeGreaterThan(0);
	});
});
