import type { WireEvent, WireObject } from "@conduit/protocol";
import { UNSAFE_KEYS } from "@conduit/protocol";

/**
 * How far after its arrival an event's own time may lie and still count. A client's clock that
 * runs a little fast (no `sentAt` to correct it) keeps the order of its events; a timestamp
 * further ahead counts as `receivedAt` plus this, so no client can date a write into the future.
 */
export const CLOCK_ALLOWANCE_MS = 10_000;

/**
 * The time identity orders an event by (trait last-write-wins, first and last seen, group
 * membership times, who claims an identifier first in a batch): its timestamp, but never more
 * than {@link CLOCK_ALLOWANCE_MS} after the collector received it. A timestamp that does not
 * parse counts as `receivedAt`. Canonical UTC ISO-8601, so times compare as strings.
 *
 * @example
 * orderingTime({ timestamp: "9999-12-31T23:59:59.000Z", receivedAt: "2026-11-01T09:00:00.000Z" })
 * // "2026-11-01T09:00:10.000Z"
 * orderingTime({ timestamp: "2026-11-01T08:59:00.000Z", receivedAt: "2026-11-01T09:00:00.000Z" })
 * // "2026-11-01T08:59:00.000Z"
 */
export function orderingTime(event: {
	timestamp: string;
	receivedAt?: string;
}): string {
	const at = Date.parse(event.timestamp);
	const received =
		event.receivedAt === undefined ? Number.NaN : Date.parse(event.receivedAt);
	if (Number.isNaN(received))
		return Number.isNaN(at) ? event.timestamp : new Date(at).toISOString();
	const latest = received + CLOCK_ALLOWANCE_MS;
	return new Date(
		Number.isNaN(at) ? received : Math.min(at, latest),
	).toISOString();
}

/**
 * A group call's group id and the group's own traits.
 *
 * @example
 * groupOf({ type: "group", groupId: "org_1", traits: { plan: "team" } }) // { groupId: "org_1", traits: { plan: "team" } }
 */
export function groupOf(
	event: WireEvent,
): { groupId: string; traits: WireObject } | undefined {
	if (event.type !== "group" || typeof event.groupId !== "string") return;
	const groupId = event.groupId.trim();
	if (!groupId) return;
	return { groupId, traits: event.traits ?? {} };
}

/**
 * A traits object as `[key, JSON value]` pairs, ready to be stored one row per trait. Keys that
 * could reach a prototype are left out; `undefined` values (absent in JSON) are skipped.
 *
 * @example
 * traitRows({ plan: "pro", seats: 3 }) // [["plan", "\"pro\""], ["seats", "3"]]
 */
export function traitRows(traits: WireObject): [string, string][] {
	const rows: [string, string][] = [];
	for (const [key, value] of Object.entries(traits)) {
		if (UNSAFE_KEYS.has(key) || value === undefined) continue;
		rows.push([key, JSON.stringify(value)]);
	}
	return rows;
}
