import { recordArchivedStatements } from "../archive/archive-index";
import { recordWritesStatement, writtenObjects } from "../db/record-writes";
import type { QueuedEvent } from "../event";
import { RECORDS_PREFIX, recordPartition } from "./key";
import { encodeParquet } from "./parquet";
import { RECORD_CONTENT_TYPE, readRecords, recordObjects } from "./records";

/** An event to write, with the queue message that claimed it. */
export interface OwnedEvent extends QueuedEvent {
	/** The claiming queue message's hash (db/seen.ts ownerOf). */
	owner: string;
}

/** What one write did. */
export interface RecordRun {
	objects: number;
	events: number;
	/** Objects of earlier attempts rewritten without events this attempt writes again. */
	rewritten: number;
}

/** Conditional rewrites tried in a row when another writer changes the object meanwhile. */
const MAX_REWRITES = 5;

/**
 * The events-of-record step of the EVENTS consumer: puts a batch's finished events in R2 (one
 * Parquet object per source and UTC hour, records.ts), after recording in one D1 batch which
 * queue messages' events each object holds (db/record-writes.ts) and which profiles' (the
 * erasure index, archive/archive-index.ts, bucket RECORDS).
 *
 * No event ends up in two objects. An object's key is a hash of its events, so a redelivered
 * batch overwrites what its first attempt wrote. Queues may also regroup redelivered messages
 * into other batches, whose objects have other keys: then `retried` names the messages on a
 * second or later attempt, and every object an earlier attempt of theirs recorded is first
 * rewritten without the events `claimed` holds (the events this attempt owns, written again here
 * or parked), conditionally on the version read, or deleted once empty.
 *
 * Failure rule: must pass as a whole. Any error throws, and the consumer retries the batch; an
 * object already put is overwritten or rewritten by the retry, as above.
 *
 * @example
 * await writeRecords(env, events, { claimed: new Set(["web\nm1"]), retried: [] }, new Date());
 */
export async function writeRecords(
	env: Pick<Env, "DB" | "RECORDS">,
	events: readonly OwnedEvent[],
	redo: { claimed: ReadonlySet<string>; retried: readonly string[] },
	now: Date,
): Promise<RecordRun> {
	const objects = await recordObjects(events);
	const run: RecordRun = {
		objects: objects.length,
		events: events.length,
		rewritten: 0,
	};
	const keys = new Set(objects.map((o) => o.key));
	if (redo.retried.length > 0) {
		const earlier = await writtenObjects(env.DB, redo.retried);
		for (const key of new Set(earlier.map((w) => w.key))) {
			if (keys.has(key)) continue; // overwritten below
			if (await rewriteWithoutClaimed(env.RECORDS, key, redo.claimed))
				run.rewritten++;
		}
	}
	if (objects.length === 0) return run;
	const owners = new Map<string, Set<string>>();
	for (const item of events) {
		const key = objectKeyOf(objects, item);
		const set = owners.get(key);
		if (set) set.add(item.owner);
		else owners.set(key, new Set([item.owner]));
	}
	await env.DB.batch([
		recordWritesStatement(
			env.DB,
			[...owners].flatMap(([key, set]) =>
				[...set].map((owner) => ({ owner, key })),
			),
			now,
		),
		...recordArchivedStatements(env.DB, "RECORDS", objects, now),
	]);
	await Promise.all(
		objects.map((o) =>
			env.RECORDS.put(o.key, o.body, {
				httpMetadata: { contentType: RECORD_CONTENT_TYPE },
			}),
		),
	);
	return run;
}

/** The key of the object of `objects` that holds an event (its partition's). */
function objectKeyOf(
	objects: readonly { key: string }[],
	item: QueuedEvent,
): string {
	const folder = `${RECORDS_PREFIX}${recordPartition(item.sourceId, item.event.receivedAt)}/`;
	const object = objects.find((o) => o.key.startsWith(folder));
	if (!object) throw new Error(`no object for partition ${folder}`);
	return object.key;
}

/**
 * Rewrites an object without the events whose "source\nmessageId" is in `claimed`, deleting it
 * when none is left; true when it changed. Conditional on the version read: a concurrent rewrite
 * (another regrouped message of the same object) makes it read again.
 */
async function rewriteWithoutClaimed(
	bucket: R2Bucket,
	key: string,
	claimed: ReadonlySet<string>,
): Promise<boolean> {
	for (let attempt = 1; attempt <= MAX_REWRITES; attempt++) {
		const object = await bucket.get(key);
		if (!object) return false;
		const events = await readRecords(await object.arrayBuffer());
		const kept = events.filter(
			(e) => !claimed.has(`${e.sourceId}\n${e.event.messageId}`),
		);
		if (kept.length === events.length) return false;
		if (kept.length === 0) {
			await bucket.delete(key);
			return true;
		}
		const written = await bucket.put(key, encodeParquet(kept), {
			onlyIf: { etagMatches: object.etag },
			httpMetadata: object.httpMetadata ?? {
				contentType: RECORD_CONTENT_TYPE,
			},
		});
		if (written) return true;
	}
	throw new Error(`object ${key} kept changing while being rewritten`);
}
