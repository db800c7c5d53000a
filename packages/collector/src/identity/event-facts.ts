import { UNSAFE_KEYS } from "../pipeline/json";
import type { JsonObject, SegmentEvent } from "../types";

/** The e-commerce spec event whose amount counts towards lifetime value. */
export const ORDER_COMPLETED = "Order Completed";

/**
 * What an `Order Completed` event adds to lifetime value: `revenue`, else `total`, else `value`
 * (the first of them that is a finite number or a numeric string). Currencies are not
 * converted: sources are expected to report in one currency. Other events add nothing.
 *
 * @example
 * lifetimeValueOf({ type: "track", event: "Order Completed", properties: { total: 61.1, revenue: 55 } }) // 55
 * lifetimeValueOf({ type: "track", event: "Product Viewed", properties: { price: 9 } }) // undefined
 */
export function lifetimeValueOf(event: SegmentEvent): number | undefined {
	if (event.type !== "track" || event.event !== ORDER_COMPLETED) return;
	const properties = event.properties ?? {};
	for (const key of ["revenue", "total", "value"]) {
		const amount = toNumber(properties[key]);
		if (amount !== undefined) return amount;
	}
	return undefined;
}

/**
 * A group call's group id and the group's own traits.
 *
 * @example
 * groupOf({ type: "group", groupId: "org_1", traits: { plan: "team" } }) // { groupId: "org_1", traits: { plan: "team" } }
 */
export function groupOf(
	event: SegmentEvent,
): { groupId: string; traits: JsonObject } | undefined {
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
export function traitRows(traits: JsonObject): [string, string][] {
	const rows: [string, string][] = [];
	for (const [key, value] of Object.entries(traits)) {
		if (UNSAFE_KEYS.has(key) || value === undefined) continue;
		rows.push([key, JSON.stringify(value)]);
	}
	return rows;
}

function toNumber(value: unknown): number | undefined {
	if (typeof value === "number")
		return Number.isFinite(value) ? value : undefined;
	if (typeof value === "string" && value.trim() !== "") {
		const parsed = Number(value);
		return Number.isFinite(parsed) ? parsed : undefined;
	}
	return undefined;
}
