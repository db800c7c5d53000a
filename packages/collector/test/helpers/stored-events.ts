import type { WireEvent } from "@conduit/protocol";
import * as v from "valibot";
import { SourceSchema } from "../../src/config/schema";
import type { QueuedEvent } from "../../src/event";
import { enrichEvent } from "../../src/ingest/enrich";

/**
 * `count` events as the EVENTS consumer holds them after identity: the given Segment events
 * (repeated, with a round suffix on their messageIds, past their number) through the real
 * enrichment with a browser request's facts, received evenly over `hours` hours from `start`,
 * each with a `context.profileId` derived from its person. Runs in Node and in workerd.
 *
 * @example
 * storedEvents(fixture, 1000).length // 1000
 */
export function storedEvents(
	fixture: readonly WireEvent[],
	count: number,
	{
		sourceId = "web",
		start = "2026-11-01T08:00:00.000Z",
		hours = 1,
	}: { sourceId?: string; start?: string; hours?: number } = {},
): QueuedEvent[] {
	const source = v.parse(SourceSchema, {
		id: sourceId,
		writeKey: "wk_stored_events",
	});
	const from = Date.parse(start);
	return Array.from({ length: count }, (_, i) => {
		const input = fixture[i % fixture.length] as WireEvent;
		const round = Math.floor(i / fixture.length);
		const receivedAtMs = from + Math.floor((i * hours * 3_600_000) / count);
		const event = enrichEvent(
			{ ...input, messageId: `${input.messageId}_${round}` },
			{
				receivedAt: new Date(receivedAtMs).toISOString(),
				receivedAtMs,
				ip: `203.0.113.${i % 250}`,
				userAgent:
					typeof input.context?.userAgent === "string"
						? input.context.userAgent
						: undefined,
				fromBrowser: true,
				gpc: false,
				cf: {
					country: "DE",
					region: "Berlin",
					city: "Berlin",
					timezone: "Europe/Berlin",
					asn: 3320,
					colo: "FRA",
				},
			},
			source,
		);
		event.context.profileId = `prof_${input.userId ?? input.anonymousId ?? "unknown"}`;
		return { sourceId, event };
	});
}
