import {
	MAX_BATCH_EVENTS,
	MAX_REQUEST_BYTES,
	type Rejection,
	retryAfterMs,
} from "@conduit/protocol";
import { timeZone } from "./context";
import { type Outcome, outcome } from "./outcome";
import type { Runtime } from "./runtime";
import { split } from "./split";
import type { ConduitEvent } from "./types";

/**
 * The collector's body limit (500 KB, as Segment's), less room for the envelope.
 *
 * @example
 * bodies(events, writeKey, MAX_BYTES, Date.now())
 */
export const MAX_BYTES = MAX_REQUEST_BYTES - 1024;
/**
 * Browsers cap in-flight keepalive/sendBeacon bodies of a page at 64 KiB in all (Fetch spec),
 * less room for the envelope.
 *
 * @example
 * send(rt, url, body, bytes <= KEEPALIVE_BYTES)
 */
export const KEEPALIVE_BYTES = 64_512; // 64 KiB − 1 KiB

/** The collector's answer, as the sender needs it. */
export interface Sent {
	_outcome: Outcome;
	/** Retry-After in ms (undefined when absent or unreadable). */
	_wait?: number | undefined;
	/** Events of a 200 the collector refused, with its reasons. */
	_rejected: Rejection[];
}

const encoder = new TextEncoder();

/**
 * Stamps `sentAt` on the events (and the time zone, on events made before it was read) and cuts
 * them into request bodies of at most `limit` bytes and the collector's most events per batch,
 * each `{ batch, writeKey, sentAt }` with its events and its size: each event is serialised
 * once, and measured in UTF-8.
 *
 * @example
 * for (const [events, body] of bodies(queued, "wk_…", MAX_BYTES, Date.now())) await send(rt, url, body, false);
 */
export function bodies(
	events: readonly ConduitEvent[],
	writeKey: string,
	limit: number,
	now: number,
): [events: ConduitEvent[], body: string, bytes: number][] {
	const sentAt = new Date(now).toISOString();
	const items = events.map((event) => {
		event.sentAt = sentAt;
		const { context } = event;
		if ("timezone" in context) context.timezone ||= timeZone();
		const json = JSON.stringify(event);
		// Most events are ASCII, where UTF-8 bytes are characters: no need to encode them.
		const bytes = /[^\0-\x7f]/.test(json)
			? encoder.encode(json).length
			: json.length;
		return { _event: event, _json: json, _bytes: bytes + 1 };
	});
	const tail = `],"writeKey":${JSON.stringify(writeKey)},"sentAt":"${sentAt}"}`;
	return split(items, (item) => item._bytes, limit, MAX_BATCH_EVENTS).map(
		(run) => [
			run.map((item) => item._event),
			`{"batch":[${run.map((item) => item._json).join()}${tail}`,
			run.reduce((sum, item) => sum + item._bytes, tail.length + 10),
		],
	);
}

/**
 * POSTs one body to `url`. A string body goes as `text/plain`, a CORS "simple request": no
 * preflight round trip, and the write key is inside. Never rejects: a network failure is
 * status 0, which {@link outcome} classifies.
 *
 * @example
 * const sent = await send(rt, "https://collect.example.com/v1/batch", body, false);
 * if (sent._outcome === "retry-later") schedule(sent._wait);
 */
export async function send(
	rt: Runtime,
	url: string,
	body: string,
	keepalive: boolean,
): Promise<Sent> {
	try {
		const response = await rt._w.fetch(url, {
			method: "POST",
			body,
			keepalive,
		});
		// The body says which events were rejected (200) or why a batch was refused (400).
		const json =
			response.status < 500 ? await response.json().catch(() => ({})) : {};
		return {
			_outcome: outcome(response.status, json.code),
			_wait: retryAfterMs(response.headers.get("retry-after"), rt._now()),
			_rejected: json.rejected || [],
		};
	} catch {
		return { _outcome: outcome(0), _rejected: [] };
	}
}
