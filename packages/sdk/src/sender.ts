import { type BackoffPolicy, backoff } from "@conduit/protocol";
import { exclusive, lease } from "./lock";
import type { Queue } from "./queue";
import type { Reporter } from "./report";
import type { Runtime } from "./runtime";
import { bodies, KEEPALIVE_BYTES, MAX_BYTES, send } from "./transport";
import type { ConduitEvent } from "./types";

/*
 * The sender takes events from the queue to the collector. Failure rule: nothing is lost and
 * nothing blocks the page. An event leaves the queue only once the collector has answered for
 * it (accepted, rejected or refused); anything else keeps it stored for the next try, this
 * page's or a later one's.
 */

/**
 * Retries wait 1 s, doubling to 5 min, never sooner than Retry-After, honoured up to a day
 * (setTimeout fires at once past 2^31 − 1 ms, about 24.8 days).
 */
const RETRY: BackoffPolicy = { base: 1000, cap: 300_000, maxWait: 86_400_000 };

/** When to send, and where. */
export interface SenderOptions {
	/** `{endpoint}/v1/batch` */
	_url: string;
	_writeKey: string;
	_flushAt: number;
	_flushInterval: number;
}

/**
 * Flushing, retrying, tab coordination and unload, as one object with its own state.
 */
export interface Sender {
	/** An event was queued: send once `flushAt` wait, or `flushInterval` ms after the first. */
	_queued(): void;
	/**
	 * Sends every stored event; resolves false if a send failed (a retry is scheduled) or
	 * another tab holds the lease. One flush at a time per tab; calls made while one waits share
	 * it. `limit` caps each body (a hidden page asks for keepalive-sized ones).
	 */
	_flush(limit?: number): Promise<boolean>;
	/** The browser is back online: try again now, with the backoff starting over. */
	_online(): void;
	/**
	 * The page is going away and promises may never settle: hands this tab's events that are
	 * not already in a keepalive request to one more, at once. What does not fit stays stored.
	 */
	_unload(): void;
}

/**
 * The sender of one instance; `tab` names this tab to the others.
 *
 * @example
 * const sender = createSender(rt, queue, { _url, _writeKey, _flushAt: 20, _flushInterval: 2000 }, reporter, id());
 * queue._add(event);
 * sender._queued();
 */
export function createSender(
	rt: Runtime,
	queue: Queue,
	{ _url: url, _writeKey: writeKey, _flushAt, _flushInterval }: SenderOptions,
	{ _log: log, _report: report }: Reporter,
	tab: string,
): Sender {
	/** Events queued since the last flush (for flushAt). */
	let count = 0;
	/** Failed sends in a row (for the backoff). */
	let attempt = 0;
	let timer: ReturnType<typeof setTimeout> | undefined;
	let retry: ReturnType<typeof setTimeout> | undefined;
	let chain = Promise.resolve(true);
	let next: Promise<boolean> | undefined;
	/** Events in keepalive requests: they outlive the page, so pagehide need not send them again. */
	const flying = new Set<string>();

	const later = () => {
		timer ||= setTimeout(flush, _flushInterval);
	};
	function flush(limit = MAX_BYTES): Promise<boolean> {
		clearTimeout(timer);
		timer = undefined;
		count = 0;
		next ||= chain = chain
			.then(async () => {
				next = undefined;
				const drain = async () => deliver(await queue._all(), limit);
				if (!queue._shared()) return drain();
				const done = await exclusive(rt, tab, drain);
				if (done !== undefined) return done;
				// Another tab holds the lease and sends stored events, ours included: look again later.
				later();
				return false;
			})
			.catch((error) => {
				report("internal", 0, error);
				return false;
			});
		return next;
	}

	/** Sends `events` in bodies of at most `limit` bytes; false once one must wait for a retry. */
	async function deliver(
		events: ConduitEvent[],
		limit: number,
	): Promise<boolean> {
		for (const [batch, body, bytes] of bodies(
			events,
			writeKey,
			limit,
			rt._now(),
		)) {
			// Small enough bodies go with keepalive, so closing the tab does not cancel them.
			const keepalive = bytes <= KEEPALIVE_BYTES;
			if (keepalive) for (const e of batch) flying.add(e.messageId);
			const sent = await send(rt, url, body, keepalive);
			for (const e of batch) flying.delete(e.messageId);
			const result = sent._outcome;
			log(result, batch.length, sent._rejected);
			if (result === "retry-later") {
				clearTimeout(retry);
				retry = setTimeout(
					flush,
					backoff(++attempt, RETRY, rt._random(), sent._wait),
				);
				return false;
			}
			if (result === "too-large" && batch.length > 1) {
				// The collector's limit is tighter than ours: halve until it fits or one event is left.
				const half = batch.length >> 1;
				if (
					!(await deliver(batch.slice(0, half), limit)) ||
					!(await deliver(batch.slice(half), limit))
				)
					return false;
				continue;
			}
			await queue._del(batch);
			if (result !== "ok") report(result, batch.length);
			else if (sent._rejected.length)
				report("rejected", sent._rejected.length, sent._rejected);
		}
		attempt = 0;
		return true;
	}

	return {
		_queued() {
			// A flush that has not begun yet takes this event too: no timer to set or clear.
			if (next) return;
			if (++count >= _flushAt) flush();
			else later();
		},
		_flush: flush,
		_online() {
			attempt = 0;
			flush();
		},
		_unload() {
			// A closing tab gives back the fallback lease (Web Locks release themselves).
			if (!rt._w.navigator.locks) lease(rt, tab, false).catch(log);
			const [first] = bodies(
				queue._mem().filter((e) => !flying.has(e.messageId)),
				writeKey,
				KEEPALIVE_BYTES,
				rt._now(),
			);
			if (first)
				send(rt, url, first[1], true).then<unknown>(
					(sent) => sent._outcome === "ok" && queue._del(first[0]),
				);
		},
	};
}
