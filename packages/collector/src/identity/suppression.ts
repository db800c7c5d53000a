import type { Identifier } from "./identifiers";
import { USER_ID } from "./settings";

const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

/**
 * The key under which a deleted profile's identifier is suppressed: a hex SHA-256 of
 * "type\nvalue", so the erased identifier itself is not kept.
 *
 * @example
 * await suppressionKey({ type: "email", value: "ann@example.com" }) // "5d1c…" (64 hex digits)
 */
export async function suppressionKey(identifier: Identifier): Promise<string> {
	const digest = await crypto.subtle.digest(
		"SHA-256",
		encoder.encode(`${identifier.type}\n${identifier.value}`),
	);
	return Array.from(new Uint8Array(digest), (b) =>
		b.toString(16).padStart(2, "0"),
	).join("");
}

/** How an event fares against suppressed identifiers. */
export type SuppressionVerdict =
	| { drop: false; identifiers: Identifier[] }
	| { drop: true; keys: string[] };

/**
 * Applies suppressions to one event's identifiers. The event is dropped when its user_id is
 * suppressed, or when it has no user_id and any identifier is; when it has a user_id that is not
 * suppressed, suppressed identifiers are only left out, so another user of a shared browser
 * keeps their events while the deleted person's ids are never linked again.
 *
 * @example
 * suppressionVerdict(ids, keysOf, suppressions, 30, now) // { drop: false, identifiers: ids }
 */
export function suppressionVerdict(
	identifiers: readonly Identifier[],
	keys: readonly string[],
	suppressions: ReadonlyMap<string, string>,
	suppressionDays: number,
	now: Date,
): SuppressionVerdict {
	const since = now.getTime() - suppressionDays * DAY_MS;
	const suppressed = keys.map((key) => {
		const deletedAt = suppressions.get(key);
		return deletedAt !== undefined && Date.parse(deletedAt) > since;
	});
	if (!suppressed.includes(true))
		return { drop: false, identifiers: [...identifiers] };
	const userIndex = identifiers.findIndex((id) => id.type === USER_ID);
	if (userIndex === -1 || suppressed[userIndex])
		return { drop: true, keys: keys.filter((_, i) => suppressed[i]) };
	return {
		drop: false,
		identifiers: identifiers.filter((_, i) => !suppressed[i]),
	};
}
