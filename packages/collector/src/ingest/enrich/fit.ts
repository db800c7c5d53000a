import type { WireObject } from "@conduit/protocol";
import type { EnrichedEvent } from "../../event";
import { LIMITS } from "../../limits";

/**
 * The context fields enrichment adds or completes, in the order they are given up when an
 * event is too large: the least useful (the raw User-Agent, which the parsed fields summarise)
 * first.
 */
const DROP_ORDER = [
	"userAgent",
	"browser",
	"os",
	"device",
	"campaign",
	"referrer",
	"location",
] as const;

const encoder = new TextEncoder();

/**
 * The size of a JSON text in UTF-8 bytes, measured only when it could exceed `limit` (a UTF-16
 * unit takes at most 3 bytes).
 *
 * @example
 * utf8Length('{"a":"€"}', 64) // 0 — 9 units can never take 64 bytes, so nothing is measured
 * utf8Length('{"a":"€"}', 8)  // 11
 */
export function utf8Length(json: string, limit: number): number {
	if (json.length * 3 <= limit) return 0;
	return encoder.encode(json).byteLength;
}

export type Fitted = { ok: true; json: string } | { ok: false; error: string };

/**
 * Serialises an enriched event within `LIMITS.maxEnrichedEventBytes`. When it is larger, the
 * context fields enrichment added are put back as the client sent them, one at a time in
 * `DROP_ORDER`, each listed in `context.enrichment.dropped`, until it fits. An event still too
 * large is refused: the client's part alone is over the limit.
 *
 * @example
 * const fitted = serialiseEnriched(enrichEvent(event, facts, source), event.context);
 * if (fitted.ok) accepted.push(fitted.json);
 */
export function serialiseEnriched(
	event: EnrichedEvent,
	clientContext: WireObject | undefined,
): Fitted {
	const limit = LIMITS.maxEnrichedEventBytes;
	let json = JSON.stringify(event);
	let bytes = utf8Length(json, limit);
	if (bytes <= limit) return { ok: true, json };
	const { context } = event;
	const dropped: string[] = [];
	for (const key of DROP_ORDER) {
		if (context[key] === clientContext?.[key]) continue;
		if (clientContext?.[key] === undefined) delete context[key];
		else context[key] = clientContext[key];
		dropped.push(key);
		const note = (context.enrichment ?? {}) as WireObject;
		context.enrichment = { ...note, dropped: [...dropped] };
		json = JSON.stringify(event);
		bytes = utf8Length(json, limit);
		if (bytes <= limit) return { ok: true, json };
	}
	return {
		ok: false,
		error: `event is ${bytes} bytes after enrichment; the limit is ${limit}`,
	};
}
