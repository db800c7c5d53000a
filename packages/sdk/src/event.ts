import { campaign, pageContext, timeZone } from "./context";
import type { State } from "./state";
import type { ConduitEvent, JsonObject } from "./types";

/**
 * A Segment Spec event of `type` from the state: ids, time, and the context (the page, UTM
 * campaign, traits and consent in force). A call replayed from the snippet keeps the time and
 * page it was made on. `context.timezone` stays undefined (a key without a value) until the
 * time zone has been read; sending fills it in, unless a middleware removed the key.
 *
 * @param base the page's static context (`staticContext`)
 * @example
 * buildEvent(s, document, base, id(), Date.now(), "track", { event: "Clicked", properties: {} })
 */
export function buildEvent(
	s: State,
	d: Document,
	base: JsonObject,
	messageId: string,
	now: number,
	type: ConduitEvent["type"],
	fields: Partial<ConduitEvent>,
): ConduitEvent {
	const call = s._at;
	const page = pageContext(d, call);
	const context: ConduitEvent["context"] = {
		...base,
		timezone: timeZone(true),
		page,
		consent: { categoryPreferences: s._prefs },
	};
	const utm = campaign(page.search);
	if (utm) context.campaign = utm;
	if (Object.keys(s._traits).length) context.traits = { ...s._traits };
	return {
		type,
		messageId,
		anonymousId: s._aid,
		userId: s._uid,
		// Indexed, not destructured: destructuring walks the array's iterator, per event.
		timestamp: new Date(call?.[2] ?? now).toISOString(),
		...fields,
		context,
	};
}
