import { staticContext } from "./context";
import type { Core } from "./core";
import { buildEvent } from "./event";
import { allowed } from "./state";
import type { ConduitEvent, JsonObject } from "./types";

/*
 * From a call to a queued event. Failure rule: must pass, per event, in order: the middlewares
 * (any may drop the event), then the consent gate (queue it, hold it until the person decides,
 * or drop it). Nothing here waits: storing and sending happen later.
 */

/** Turns calls into events and events into queued ones. */
export interface Tracker {
	/** Builds an event and takes it through the middlewares and the consent gate; `necessary` skips the gate. */
	_record(
		type: ConduitEvent["type"],
		fields: Partial<ConduitEvent>,
		necessary?: boolean,
	): void;
	/** Queues an event that passed the gate, and lets the sender know. */
	_add(event: ConduitEvent): void;
}

/**
 * The tracker of one instance. The page's static context is read at the first event, not at
 * start-up: touching `navigator` and `screen` first costs a fresh page about a millisecond.
 *
 * @example
 * const tracker = createTracker(core);
 * tracker._record("track", { event: "Clicked", properties: {} });
 */
export function createTracker({
	_rt: rt,
	_s: s,
	_rules: rules,
	_queue: queue,
	_sender: sender,
	_r: r,
	_id: id,
}: Core): Tracker {
	let base: JsonObject | undefined;
	const add = (event: ConduitEvent) => {
		r._log(event.type, event);
		queue._add(event);
		sender._queued();
	};
	return {
		_add: add,
		_record(type, fields, necessary) {
			base ||= staticContext(rt._w);
			let event: ConduitEvent | null = buildEvent(
				s,
				rt._w.document,
				base,
				id(),
				rt._now(),
				type,
				fields,
			);
			for (const middleware of s._middleware) {
				event = middleware(event);
				if (!event) return;
			}
			if (necessary || allowed(s)) add(event);
			else if (rules._mode === "opt-in" && s._chosen.analytics === undefined) {
				// Past the limit, the oldest held event gives way.
				if (s._held.push(event) > rules._hold) {
					s._held.shift();
					r._report("overflow", 1);
				}
			}
		},
	};
}
