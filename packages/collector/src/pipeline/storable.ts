import { LIMITS } from "../limits";
import type { JsonObject } from "../types";

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
 * Why an event cannot be stored as it is, or undefined when it can. Reasons name the field,
 * like validation's: `properties.cart: nests deeper than 32 levels`.
 *
 * @example
 * storableIssue({ type: "track", event: "A", userId: "u", properties: { name: "\ud800" } })
 * // "properties.name: contains an unpaired UTF-16 surrogate; text must be valid Unicode"
 */
export function storableIssue(event: JsonObject): string | undefined {
	const problem = check(event, 1);
	if (!problem) return undefined;
	const keys = problem.path.reverse();
	const path = keys.slice(0, MAX_PATH_KEYS).map(printable).join(".");
	const more = keys.length > MAX_PATH_KEYS ? ".…" : "";
	return `${path}${more}: ${problem.reason}`;
}

interface Problem {
	/** Keys from the problem up to the event (reversed when printed). */
	path: (string | number)[];
	reason: string;
}

/** Keys of a path an error message shows; a 33-level path says no more than its start. */
const MAX_PATH_KEYS = 4;
const TOO_DEEP = `nests deeper than ${LIMITS.maxDepth} levels`;
const SURROGATE =
	"contains an unpaired UTF-16 surrogate; text must be valid Unicode";

/** One walk over the event; it stops at the first problem and never recurses past the limit. */
function check(value: unknown, depth: number): Problem | undefined {
	if (typeof value === "string")
		return value.isWellFormed() ? undefined : { path: [], reason: SURROGATE };
	if (typeof value !== "object" || value === null) return undefined;
	if (depth > LIMITS.maxDepth) return { path: [], reason: TOO_DEEP };
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const problem = check(value[i], depth + 1);
			if (problem) {
				problem.path.push(i);
				return problem;
			}
		}
		return undefined;
	}
	for (const key in value) {
		if (!key.isWellFormed()) return { path: [key], reason: SURROGATE };
		const problem = check((value as JsonObject)[key], depth + 1);
		if (problem) {
			problem.path.push(key);
			return problem;
		}
	}
	return undefined;
}

/** A key as an error message can show it: well-formed and short. */
function printable(key: string | number): string {
	const text = String(key).toWellFormed();
	return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
