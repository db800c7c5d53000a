import type { WireObject } from "@conduit/protocol";

/**
 * The event without its top-level `null` fields: in the Segment Spec a `null` field is one the
 * client did not set. analytics-python's `page()` sends `"name": null, "category": null`,
 * other server libraries send `"context": null` or `"timestamp": null` the same way. A field
 * the type requires (`event`, `groupId`, `previousId`) is then reported missing. Nested values
 * (a property set to `null`) are data and stay.
 *
 * @example
 * withoutNullFields({ type: "page", name: null, userId: "u1" }) // { type: "page", userId: "u1" }
 */
export function withoutNullFields(event: WireObject): WireObject {
	let copy: WireObject | undefined;
	for (const key of Object.keys(event)) {
		if (event[key] !== null) continue;
		copy ??= { ...event };
		delete copy[key];
	}
	return copy ?? event;
}
