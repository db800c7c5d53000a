import type { QueuedEvent } from "../event";
import { RECORDS_EXTENSION, RECORDS_PREFIX } from "./key";
import { readRecords } from "./records";

/*
 * A resumable scan of the events of record: the objects of some sources' hour partitions that
 * overlap a range of `receivedAt`, in key order, a bounded number per step, each step ending
 * with the cursor the next one starts from. Backfills run one step per call, in a Worker
 * invocation whose CPU time and subrequests are limited, and keep the cursor between calls.
 *
 * A source's keys sort by day, then hour (`events/source=<id>/dt=YYYY-MM-DD/hour=HH/…`), so
 * one listing per source, starting after the range's first hour folder, walks every partition
 * of the range in order and never spends a call on an hour that holds nothing.
 */

/** Where a scan stands: the source it is in (an index into the scan's sources) and the last key read. */
export interface ScanCursor {
	source: number;
	/** The last object read in that source; "" before its first. */
	after: string;
}

/** What a scan covers. */
export interface ScanRange {
	/** Inclusive, by `receivedAt`. */
	from: Date;
	/** Exclusive. */
	to: Date;
	/** Source ids, in the order the scan visits them. */
	sources: readonly string[];
}

/** The bounds of one step. */
export interface ScanBudget {
	/** Objects read (fetched and decoded) at most. */
	objects: number;
	/** Stop reading more objects once this many events were decoded (an object is never split). */
	events: number;
	/** R2 list calls at most. */
	lists: number;
}

/** What a step of about 20 decoded objects costs: well within a cron invocation's limits. */
export const DEFAULT_SCAN_BUDGET: ScanBudget = {
	objects: 20,
	events: 5_000,
	lists: 10,
};

/** One step's result. */
export interface ScanStep {
	/** Events in the range, object by object in key order, each object's in its own order. */
	events: QueuedEvent[];
	/** Objects read this step. */
	objects: number;
	/** Events decoded this step, in the range or not. */
	decoded: number;
	/** Where the next step starts. */
	cursor: ScanCursor;
	/** True when the range has no object left to read. */
	done: boolean;
}

/**
 * The cursor a scan starts from.
 *
 * @example
 * startCursor() // { source: 0, after: "" }
 */
export function startCursor(): ScanCursor {
	return { source: 0, after: "" };
}

/**
 * Reads the next objects of the range after `cursor`, at most what `budget` allows, and returns
 * their events within [from, to) with the next cursor. An object written into a partition behind
 * the cursor after the scan passed it is not read; one whose key sorts ahead of it is.
 *
 * @example
 * let cursor = startCursor();
 * for (;;) {
 *   const step = await scanStep(env.RECORDS, { from, to, sources: ["web"] }, cursor);
 *   handle(step.events);
 *   if (step.done) break;
 *   cursor = step.cursor;
 * }
 */
export async function scanStep(
	bucket: R2Bucket,
	range: ScanRange,
	cursor: ScanCursor,
	budget: ScanBudget = DEFAULT_SCAN_BUDGET,
	prefix: string = RECORDS_PREFIX,
): Promise<ScanStep> {
	const step: ScanStep = {
		events: [],
		objects: 0,
		decoded: 0,
		cursor: { ...cursor },
		done: false,
	};
	const fromMs = range.from.getTime();
	const toMs = range.to.getTime();
	const lastHour = hourFolder(new Date(toMs - 1));
	let lists = 0;
	while (step.cursor.source < range.sources.length) {
		if (
			step.objects >= budget.objects ||
			step.decoded >= budget.events ||
			lists >= budget.lists
		)
			return step;
		const sourceId = range.sources[step.cursor.source] as string;
		const under = `${prefix}source=${sourceId}/`;
		const first = `${under}${hourFolder(range.from)}/`;
		lists++;
		const page = await bucket.list({
			prefix: under,
			startAfter:
				step.cursor.after > first ? step.cursor.after : first.slice(0, -1),
			limit: budget.objects - step.objects,
		});
		let finished = !page.truncated;
		for (const { key } of page.objects) {
			const partition = key.slice(under.length, key.lastIndexOf("/"));
			if (partition > lastHour) {
				finished = true;
				break;
			}
			if (!key.endsWith(`.${RECORDS_EXTENSION}`)) {
				step.cursor.after = key;
				continue;
			}
			const object = await bucket.get(key);
			step.objects++;
			step.cursor.after = key;
			if (!object) continue;
			const events = await readRecords(await object.arrayBuffer());
			step.decoded += events.length;
			for (const item of events) {
				const at = Date.parse(item.event.receivedAt);
				if (at >= fromMs && at < toMs) step.events.push(item);
			}
			if (step.decoded >= budget.events) return step;
		}
		if (finished) step.cursor = { source: step.cursor.source + 1, after: "" };
	}
	step.done = true;
	return step;
}

/** `dt=YYYY-MM-DD/hour=HH` of an instant: the folder of its UTC hour in a source. */
function hourFolder(at: Date): string {
	const iso = at.toISOString();
	return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}
