import type { WireObject } from "@conduit/protocol";
import { LIMITS } from "../../limits";

/**
 * What enrichment cut or left out to keep an event within `LIMITS`, written to the event as
 * `context.enrichment`:
 *
 * ```json
 * { "truncated": ["userAgent", "campaign.source"], "dropped": ["campaign"] }
 * ```
 *
 * Paths are relative to `context`. `truncated`: a string enrichment added (from a request
 * header, the page URL or Cloudflare's request data) was cut to `LIMITS.maxEnrichedStringLength`
 * characters. `dropped` (written by `serialiseEnriched`, fit.ts): a context field
 * enrichment would have added or completed was left as the client sent it, because the event
 * would otherwise exceed `LIMITS.maxEnrichedEventBytes`.
 * The field is absent when nothing was cut; it is the collector's, and a client's value is
 * removed at ingest.
 *
 * @example
 * const notes = new EnrichmentNotes();
 * context.userAgent = notes.cap(header, "userAgent");
 * notes.writeTo(context);
 */
export class EnrichmentNotes {
	truncated?: string[];

	/** `value` cut to the limit, at a code point boundary, noting `path` when cut. */
	cap(value: string, path: string): string {
		const max = LIMITS.maxEnrichedStringLength;
		if (value.length <= max) return value;
		this.truncated ??= [];
		this.truncated.push(path);
		// Never split a surrogate pair: its first half alone is not valid Unicode.
		const code = value.charCodeAt(max - 1);
		const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
		return value.slice(0, end);
	}

	/** Each string value of `object` capped, under `path`; other values kept. */
	capStrings<T extends object>(object: T, path: string): T {
		const values = object as WireObject;
		for (const key in values) {
			const value = values[key];
			if (
				typeof value === "string" &&
				value.length > LIMITS.maxEnrichedStringLength
			)
				values[key] = this.cap(value, `${path}.${key}`);
		}
		return object;
	}

	/** Sets `context.enrichment` when something was cut. */
	writeTo(context: WireObject): void {
		if (this.truncated) context.enrichment = { truncated: [...this.truncated] };
	}
}
