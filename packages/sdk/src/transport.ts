import {
	MAX_BATCH_EVENTS,
	MAX_REQUEST_BYTES,
	type Rejection,
	retryAfterMs,
} from "@conduit/protocol";
import { timeZone } from "./context";
import { hoist } from "./hoist";
import { type Outcome, outcome } from "./outcome";
import type { Runtime } from "./runtime";
import type { ConduitEvent } from "./types";

/**
 * The collector's body limit (500 KB, as Segment's), less 1 KiB to spare: {@link bodies} counts
 * the whole body against it, envelope and shared context included.
 *
 * @example
 * bodies(events, writeKey, MAX_BYTES, Date.now())
 */
export const MAX_BYTES = MAX_REQUEST_BYTES - 1024;
/**
 * Browsers cap in-flight keepalive/sendBeacon bodies of a page at 64 KiB in all (Fetch spec),
 * less 1 KiB to spare.
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
/** UTF-8 bytes of `text`: most events are ASCII, where bytes are characters, and go unencoded. */
const utf8 = (text: string) =>
	/[^\0-\x7f]/.test(text) ? encoder.encode(text).length : text.length;

/**
 * Cuts the events, in order, into request bodies `{ batch, context, writeKey, sentAt }` of at
 * most `limit` bytes in all (an event too large for that travels alone, for the collector to
 * refuse without blocking the rest) and the collector's most events per batch, each with its
 * events and its exact size in UTF-8. The context entries all the events share go once per
 * body, as its `context` (see {@link hoist}), and `sentAt` only there: the collector gives the
 * batch's `sentAt` to each event without one (docs/ingest.md). Each event is serialised once;
 * events made before the time zone was read get it now.
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
	for (const { context } of events)
		if ("timezone" in context) context.timezone ||= timeZone();
	const [shared, own] = hoist(events);
	const tail = `],"context":${JSON.stringify(shared)},"writeKey":${JSON.stringify(writeKey)},"sentAt":"${new Date(now).toISOString()}"}`;
	/** Each body's events, their JSON texts, and its size so far. */
	const runs: [ConduitEvent[], string[], number][] = [];
	let run: (typeof runs)[number] | undefined;
	events.forEach((event, i) => {
		// Earlier versions stamped `sentAt` on the events, and a record stored again after a
		// partial answer kept it: it would hide the batch's.
		const json = JSON.stringify({
			...event,
			context: own[i],
			sentAt: undefined,
		});
		// The event and its comma.
		const bytes = utf8(json) + 1;
		if (!run || run[2] + bytes > limit || run[0].length >= MAX_BATCH_EVENTS) {
			// `{"batch":[` and the tail, less the comma after the last event.
			run = [[], [], utf8(tail) + 9];
			runs.push(run);
		}
		run[0].push(event);
		run[1].push(json);
		run[2] += bytes;
	});
	return runs.map(([batch, texts, bytes]) => [
		batch,
		`{"batch":[${texts}${tail}`,
		bytes,
	]);
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
