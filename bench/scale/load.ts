import { readFileSync } from "node:fs";
import { join } from "node:path";

const FIXTURE = join(import.meta.dirname, "../../test/fixtures/events.ndjson");

/** People in one copy of the fixture (its README: 624 events from 64 people). */
export const FIXTURE_PEOPLE = 64;

/** A generated load: request bodies ready to post, and what they hold. */
export interface Load {
	/** `{"batch":[…]}` bodies of `batchSize` events each (the last may be shorter). */
	bodies: string[];
	events: number;
	people: number;
	/** Copies of the fixture the load is made of. */
	cohorts: number;
	/** Average JSON bytes of one event as posted. */
	eventBytes: number;
	/** Every messageId, to check each arrives once. */
	messageIds: Set<string>;
}

/**
 * Generates a load in the shape of the shared fixture (test/fixtures, 624 Segment events from
 * 64 people over a simulated day: page views, identifies, groups, the e-commerce tracks, with
 * two-device people, people who never identify and shared computers) by repeating it with
 * fresh identities: cohort k renames every messageId, anonymousId, userId, groupId and e-mail
 * address with a `_k` suffix, so each cohort is 64 new people with the fixture's behaviour,
 * and identity resolution does the same work per cohort as on the fixture. Events go out
 * cohort by cohort in the fixture's time order, interleaved across `interleave` cohorts so a
 * batch mixes people as a busy site's traffic does.
 *
 * @example
 * const load = generateLoad({ events: 200_000, batchSize: 100 });
 * load.people // 20,544: 321 cohorts of 64
 */
export function generateLoad(options: {
	events: number;
	batchSize: number;
	interleave?: number;
}): Load {
	const lines = readFileSync(FIXTURE, "utf8").trim().split("\n");
	const cohorts = Math.max(1, Math.ceil(options.events / lines.length));
	const interleave = Math.max(1, Math.min(options.interleave ?? 8, cohorts));
	const events: string[] = [];
	const messageIds = new Set<string>();
	for (let first = 0; first < cohorts; first += interleave) {
		const group = Array.from(
			{ length: Math.min(interleave, cohorts - first) },
			(_, i) => first + i,
		);
		for (const line of lines)
			for (const cohort of group) {
				const event = renamed(line, cohort);
				events.push(event);
				messageIds.add((JSON.parse(event) as { messageId: string }).messageId);
			}
	}
	const bodies: string[] = [];
	let bytes = 0;
	for (let i = 0; i < events.length; i += options.batchSize) {
		const part = events.slice(i, i + options.batchSize);
		for (const event of part) bytes += event.length;
		bodies.push(`{"batch":[${part.join(",")}]}`);
	}
	return {
		bodies,
		events: events.length,
		people: cohorts * FIXTURE_PEOPLE,
		cohorts,
		eventBytes: bytes / events.length,
		messageIds,
	};
}

const IDS = /"((?:msg|anon|user|org)_[A-Za-z0-9]+)"/g;
const EMAILS = /"([a-z0-9.]+)@example\.com"/g;

/** One fixture line with every identifier of cohort `k` made unique to it. */
function renamed(line: string, k: number): string {
	return line
		.replace(IDS, (_, id: string) => `"${id}_${k}"`)
		.replace(EMAILS, (_, local: string) => `"${local}+${k}@example.com"`);
}
