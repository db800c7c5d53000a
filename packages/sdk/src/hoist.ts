import type { ConduitEvent, JsonObject } from "./types";

/*
 * A batch body's `context` applies to each of its events: Segment's HTTP API merges it "with any
 * context inside each of the items in the batch" (the `context` field of the batch method,
 * https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#batch), and
 * the collector's `eventsOfBatch` fills in what an event's context lacks from it, its own
 * values winning. The entries a burst of events shares (library, userAgent, locale, screen,
 * timezone, page, consent: about 410 B of each 720 B event) therefore travel once per body.
 */

/**
 * Splits the events' contexts into the entries every event has with the same value, which the
 * body carries once (`shared`), and the rest, which each event keeps (`own`, undefined when
 * nothing is left). Only such entries are shared, so the collector rebuilds every context
 * exactly: an event never lacks a shared entry, nor holds another value of it to merge into.
 * Values are compared as JSON would send them (a page object is new per event; a middleware may
 * change one event's context): by identity first, then by one JSON.stringify of the event's
 * value when it is another object; undefined is no value, as in JSON. An entry stops being
 * compared at the first event that differs.
 *
 * @example
 * const [shared, own] = hoist(events);
 * JSON.stringify({ batch: events.map((e, i) => ({ ...e, context: own[i] })), context: shared });
 */
export function hoist(
	events: readonly ConduitEvent[],
): [shared: JsonObject, own: (JsonObject | undefined)[]] {
	const shared: JsonObject = { ...events[0]?.context };
	/** The shared entries still in the running, with their JSON. */
	const json = new Map(
		Object.keys(shared).map((key) => [key, JSON.stringify(shared[key])]),
	);
	for (const { context } of events)
		for (const [key, text] of json) {
			const value = context[key];
			if (value !== shared[key] && JSON.stringify(value) !== text) {
				json.delete(key);
				delete shared[key];
			}
		}
	return [
		shared,
		events.map(({ context }) => {
			let own: JsonObject | undefined;
			for (const key in context)
				if (!json.has(key)) own = { ...own, [key]: context[key] };
			return own;
		}),
	];
}
