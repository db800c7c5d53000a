import type { WireObject } from "@conduit/protocol";
import { LIMITS } from "../limits";

/*
 * Part of stage 1 (validate) — must pass. What the Segment Spec allows but storage cannot hold
 * is refused here, per event, before the event is queued: once acknowledged, an event must be
 * storable, or it would fail the consumer's statement for its whole batch.
 *
 * Measured against D1 (SQLite's JSON functions store the events and feed identity):
 * - nesting: SQLite refuses JSON nested past 1,000 levels ("malformed JSON"); events are held
 *   to `LIMITS.maxDepth`, far under it and far over real data.
 * - lone surrogates (`"\ud800"` unpaired), in keys or values: JSON.stringify writes them as
 *   escapes, SQLite decodes them into bytes that are not UTF-8, and they come back from D1 as
 *   U+FFFD. A messageId holding one is stored under another id than the event's, so the event
 *   is never resolved or delivered; any other field would be changed silently.
 * Found harmless, so accepted: NUL and other control characters, empty, long or odd keys
 * (`$`, `a.b`, `[0]`), long arrays, huge and negative-zero numbers (JSON.stringify writes them
 * as D1 stores them), duplicate keys (JSON.parse keeps the last).
 */

/**
 * Why an event nests deeper than storage can hold, or undefined. Call it before anything
 * serialises the event: JSON.stringify recurses as deep as the event does. Only objects and
 * arrays are visited.
 *
 * @example
 * nestingIssue({ type: "track", event: "A", userId: "u", properties: deep })
 * // "properties.a.a.a.…: nests deeper than 32 levels"
 */
export function nestingIssue(event: WireObject): string | undefined {
	const problem = nesting(event, 1);
	return problem && describe(problem, TOO_DEEP);
}

/**
 * Why an event holds text that is not valid Unicode (an unpaired UTF-16 surrogate, in a key or
 * a value), or undefined. `json` is the event as JSON.stringify wrote it: JSON.stringify writes
 * an unpaired surrogate as a `\ud800`–`\udfff` escape, so an event whose text holds no `\ud`
 * needs no walk, and most events never pay for one.
 *
 * @example
 * unicodeIssue(event, JSON.stringify(event))
 * // "properties.name: contains an unpaired UTF-16 surrogate; text must be valid Unicode"
 */
export function unicodeIssue(
	event: WireObject,
	json: string,
): string | undefined {
	if (!json.includes("\\ud")) return undefined;
	const problem = unicode(event);
	return problem && describe(problem, SURROGATE);
}

/** Keys from the problem up to the event (reversed when printed). */
type Path = (string | number)[];

/** Keys of a path an error message shows; a 33-level path says no more than its start. */
const MAX_PATH_KEYS = 4;
const TOO_DEEP = `nests deeper than ${LIMITS.maxDepth} levels`;
const SURROGATE =
	"contains an unpaired UTF-16 surrogate; text must be valid Unicode";

function describe(path: Path, reason: string): string {
	const keys = path.reverse();
	const shown = keys.slice(0, MAX_PATH_KEYS).map(printable).join(".");
	const more = keys.length > MAX_PATH_KEYS ? ".…" : "";
	return `${shown}${more}: ${reason}`;
}

/** The path to the first object or array past the depth limit; never recurses past it. */
function nesting(value: object, depth: number): Path | undefined {
	if (depth > LIMITS.maxDepth) return [];
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const item: unknown = value[i];
			if (typeof item !== "object" || item === null) continue;
			const path = nesting(item, depth + 1);
			if (path) return [...path, i];
		}
		return undefined;
	}
	for (const key in value) {
		const item = (value as WireObject)[key];
		if (typeof item !== "object" || item === null) continue;
		const path = nesting(item, depth + 1);
		if (path) return [...path, key];
	}
	return undefined;
}

/** The path to the first key or string that is not well-formed UTF-16. */
function unicode(value: unknown): Path | undefined {
	if (typeof value === "string") return value.isWellFormed() ? undefined : [];
	if (typeof value !== "object" || value === null) return undefined;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const path = unicode(value[i]);
			if (path) return [...path, i];
		}
		return undefined;
	}
	for (const key in value) {
		if (!key.isWellFormed()) return [key];
		const path = unicode((value as WireObject)[key]);
		if (path) return [...path, key];
	}
	return undefined;
}

/** A key as an error message can show it: well-formed and short. */
function printable(key: string | number): string {
	const text = String(key).toWellFormed();
	return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * An event that was already accepted once (a parked event being replayed) as the JSON line to
 * queue again, or why it could not be stored now: ingest's storage rules — nesting (checked
 * before anything serialises the event), Unicode and the enriched size bound.
 *
 * @example
 * storedForm(event) // { ok: true, json: "{…}" }, or { ok: false, error: "properties.a.a.…: nests deeper than 32 levels" }
 */
export function storedForm(
	event: WireObject,
): { ok: true; json: string } | { ok: false; error: string } {
	const tooDeep = nestingIssue(event);
	if (tooDeep) return { ok: false, error: tooDeep };
	const json = JSON.stringify(event);
	const invalidText = unicodeIssue(event, json);
	if (invalidText) return { ok: false, error: invalidText };
	const bytes = new TextEncoder().encode(json).byteLength;
	return bytes > LIMITS.maxEnrichedEventBytes
		? {
				ok: false,
				error: `event is ${bytes} bytes; the limit after enrichment is ${LIMITS.maxEnrichedEventBytes}`,
			}
		: { ok: true, json };
}
