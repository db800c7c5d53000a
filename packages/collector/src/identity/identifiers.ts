import type { WireEvent, WireObject } from "@conduit/protocol";
import { ANONYMOUS_ID, type IdentitySettings, USER_ID } from "./settings";

/** One identifier: its type (`user_id`, `anonymous_id`, `email`, …) and normalised value. */
export interface Identifier {
	type: string;
	value: string;
}

/** What an event says about who sent it. */
export interface EventIdentifiers {
	/** In priority order: user_id, anonymous_id, then trait identifiers in configured order. */
	identifiers: Identifier[];
	/** An alias call's previousId: its type (user_id or anonymous_id) is decided by the graph. */
	previousId?: string;
}

/**
 * The key of an identifier in caches and maps. Types cannot contain ':', so the first ':' after
 * the prefix ends the type and any value is unambiguous.
 *
 * @example
 * identityKey({ type: "email", value: "a@b.c" }) // "identity:email:a@b.c"
 */
export function identityKey(identifier: Identifier): string {
	return `identity:${identifier.type}:${identifier.value}`;
}

/**
 * Reads the identifiers of an event under a source's rules: userId and anonymousId as sent
 * (trimmed), trait identifiers trimmed and lower-cased. Blocked values (`''`, `null`, `guest`,
 * `0`, …, case-insensitive) and values longer than `maxValueLength` are left out, so they can
 * never link two people. Traits are read from an identify call's `traits`, else from
 * `context.traits` (a group call's `traits` describe the group, not the person).
 *
 * @example
 * identifiersOf({ type: "identify", userId: "u1", anonymousId: "guest",
 *   traits: { email: " Ann@Example.com " } }, identitySettings(undefined))
 * // { identifiers: [{ type: "user_id", value: "u1" }, { type: "email", value: "ann@example.com" }] }
 */
export function identifiersOf(
	event: WireEvent,
	settings: IdentitySettings,
): EventIdentifiers {
	const identifiers: Identifier[] = [];
	const add = (type: string, raw: unknown, lowerCase: boolean) => {
		const value = usable(raw, settings, lowerCase);
		if (value !== undefined) identifiers.push({ type, value });
	};
	add(USER_ID, event.userId, false);
	add(ANONYMOUS_ID, event.anonymousId, false);
	const traits = personTraits(event);
	if (traits)
		for (const name of settings.traitIdentifiers) add(name, traits[name], true);
	const result: EventIdentifiers = { identifiers };
	if (event.type === "alias") {
		const previousId = usable(event.previousId, settings, false);
		if (
			previousId !== undefined &&
			!identifiers.some(
				(id) =>
					(id.type === USER_ID || id.type === ANONYMOUS_ID) &&
					id.value === previousId,
			)
		)
			result.previousId = previousId;
	}
	return result;
}

/**
 * The traits that describe the person who sent the event.
 *
 * @example
 * personTraits({ type: "identify", traits: { plan: "pro" } }) // { plan: "pro" }
 */
export function personTraits(event: WireEvent): WireObject | undefined {
	if (event.type === "identify" && isObject(event.traits)) return event.traits;
	const fromContext = event.context?.traits;
	return isObject(fromContext) ? fromContext : undefined;
}

function usable(
	raw: unknown,
	settings: IdentitySettings,
	lowerCase: boolean,
): string | undefined {
	let value: string;
	if (typeof raw === "string") value = raw.trim();
	else if (typeof raw === "number" && Number.isFinite(raw)) value = String(raw);
	else return undefined;
	if (lowerCase) value = value.toLowerCase();
	if (value.length > settings.maxValueLength) return undefined;
	if (settings.blocked.has(value.toLowerCase())) return undefined;
	return value;
}

function isObject(value: unknown): value is WireObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}
