import type { WireObject } from "@conduit/protocol";
import * as v from "valibot";
import type { EnrichedEvent } from "../event";
import { ownValue, updateAt, valueAt } from "./path";

/**
 * A rename table, `{ "stored name": "name the destination receives" }`, kept with every key the
 * document holds: valibot's record would drop `__proto__`, `constructor` and `prototype`
 * without a word, yet an event may be called that. Object.fromEntries defines own properties,
 * so such a key is an ordinary entry, found only by `ownValue`.
 */
const RenameSchema = v.pipe(
	v.custom<Record<string, unknown>>(
		(input) =>
			typeof input === "object" && input !== null && !Array.isArray(input),
		"must be an object of names",
	),
	v.rawCheck(({ dataset, addIssue }) => {
		const table = dataset.value as Record<string, unknown>;
		for (const [key, value] of Object.entries(table))
			if (typeof value !== "string" || value === "")
				addIssue({
					message: "must be a non-empty string",
					path: [{ type: "object", origin: "value", input: table, key, value }],
				});
	}),
	v.transform(
		(table) =>
			Object.fromEntries(Object.entries(table)) as Record<string, string>,
	),
);

/**
 * How a destination's copy of an event differs from the stored one. Applied in this order:
 * rename events, rename properties and traits, hash, drop. Names are looked up as the table's
 * own keys only, so an event called `toString` or `hasOwnProperty` keeps its name unless the
 * table names it.
 *
 * @example
 * { "events": { "Order Completed": "purchase" }, "properties": { "revenue": "value" },
 *   "hash": ["traits.email"], "drop": ["context.ip", "traits.phone"] }
 */
export const MappingSchema = v.strictObject({
	/** Track event names: stored name → name the destination receives. */
	events: v.optional(RenameSchema),
	/** Keys of `properties` and `traits`: stored key → key the destination receives. */
	properties: v.optional(RenameSchema),
	/** Dot paths whose string values are replaced by their SHA-256 (hex, after trim and lower-case). */
	hash: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
	/** Dot paths removed before sending (PII the destination must not get). */
	drop: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
});
export type Mapping = v.InferOutput<typeof MappingSchema>;

/**
 * The destination's copy of an event; the input is not modified.
 *
 * @example
 * await applyMapping(event, { hash: ["traits.email"], drop: ["context.ip"] })
 * // traits.email: "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514", no context.ip
 */
export async function applyMapping(
	event: EnrichedEvent,
	mapping: Mapping | undefined,
): Promise<EnrichedEvent> {
	if (!mapping) return event;
	let mapped: EnrichedEvent = { ...event };
	const renamed =
		mapped.type === "track" && mapped.event && mapping.events
			? ownValue(mapping.events, mapped.event)
			: undefined;
	if (renamed !== undefined) mapped.event = renamed;
	if (mapping.properties) {
		for (const key of ["properties", "traits"] as const) {
			const bag = mapped[key];
			if (bag) mapped[key] = renameKeys(bag, mapping.properties);
		}
	}
	for (const path of mapping.hash ?? []) {
		const found = valueAt(mapped, path);
		if (typeof found !== "string" && typeof found !== "number") continue;
		const digest = await sha256Hex(String(found).trim().toLowerCase());
		mapped = updateAt(mapped, path, () => digest);
	}
	for (const path of mapping.drop ?? [])
		mapped = updateAt(mapped, path, () => undefined);
	return mapped;
}

/** Object.fromEntries defines own properties, so no key can reach a prototype setter. */
function renameKeys(
	bag: WireObject,
	names: Record<string, string>,
): WireObject {
	return Object.fromEntries(
		Object.entries(bag).map(([key, value]) => [
			ownValue(names, key) ?? key,
			value,
		]),
	);
}

const encoder = new TextEncoder();

/**
 * Lower-case hex SHA-256 of a UTF-8 string.
 *
 * @example
 * await sha256Hex("abc") // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 */
export async function sha256Hex(text: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
	return [...new Uint8Array(digest)]
		.map((byte) => byte.toString(16).padStart(2, "0"))
		.join("");
}
