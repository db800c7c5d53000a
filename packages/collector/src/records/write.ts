import { recordArchivedStatements } from "../archive/archive-index";
import { PROFILES_METADATA, profileFilter } from "../archive/profile-filter";
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
 * Parquet object per source and UTC hour, records.ts), each object naming in its metadata the
 * queue messages whose events it holds and a filter of its profiles (archive/profile-filter.ts),
 * after recording in D1 which profiles have events in its partition (the erasure index,
 * archive/archive-index.ts, bucket RECORDS: a row only for a profile new to the partition).
 *
 * No event ends up in two objects. An object's key is a hash of its events, so a redelivered
 * batch overwrites what its first attempt wrote. Queues may also regroup redelivered messages
 * into other batches, whose objects have other keys: then `retried` names the messages on a
 * second or later attempt, and in the partitions of their events every object an earlier
 * attempt of theirs wrote (found by listing the partition with its metadata: R2 operations on
 * a retry only, no D1 row per message) is first rewritten without the events this attempt
 * claimed (`claimed`: written again here, or parked), conditionally on the version read, or
 * deleted once empty.
 *
 * Failure rule: must pass as a whole. Any error throws, and the consumer retries the batch; an
 * object already put is overwritten or rewritten by the retry, as above.
 *
 * @example
 * await writeRecords(env, events, { claimed: fresh, retried: [] }, new Date());
 */
export async function writeRecords(
	env: Pick<Env, "DB" | "RECORDS">,
	events: readonly OwnedEvent[],
	redo: { claimed: readonly OwnedEvent[]; retried: readonly string[] },
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
		const retried = new Set(redo.retried);
		const claimed = new Set(
			redo.claimed.map((e) => `${e.sourceId}\n${e.event.messageId}`),
		);
		const folders = new Set(
			redo.claimed.filter((e) => retried.has(e.owner)).map((e) => folderOf(e)),
		);
		for (const folder of folders)
			for (const key of await objectsOf(env.RECORDS, folder, retried)) {
				if (keys.has(key)) continue; // overwritten below
				if (await rewriteWithoutClaimed(env.RECORDS, key, claimed))
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
	const index = recordArchivedStatements(env.DB, "RECORDS", objects, now);
	if (index.length > 0) await env.DB.batch(index);
	await Promise.all(
		objects.map((o) =>
			env.RECORDS.put(o.key, o.body, {
				httpMetadata: { contentType: RECORD_CONTENT_TYPE },
				customMetadata: {
					[OWNERS]: JSON.stringify([...(owners.get(o.key) ?? [])].sort()),
					[PROFILES_METADATA]: profileFilter(o.profileIds),
				},
			}),
		),
	);
	return run;
}

/** The custom metadata key naming the queue messages (owners) whose events an object holds. */
const OWNERS = "owners";

/** The partition folder of an event's object. */
function folderOf(item: QueuedEvent): string {
	return `${RECORDS_PREFIX}${recordPartition(item.sourceId, item.event.receivedAt)}/`;
}

/** The objects of a partition that name any of these owners in their metadata. */
async function objectsOf(
	bucket: R2Bucket,
	folder: string,
	owners: ReadonlySet<string>,
): Promise<string[]> {
	const found: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({
			prefix: folder,
			cursor,
			include: ["customMetadata"],
		});
		for (const object of page.objects) {
			const named = JSON.parse(
				object.customMetadata?.[OWNERS] ?? "[]",
			) as string[];
			if (named.some((owner) => owners.has(owner))) found.push(object.key);
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return found;
}

/** The key of the object of `objects` that holds an event (its partition's). */
function objectKeyOf(
	objects: readonly { key: string }[],
	item: QueuedEvent,
): string {
	const folder = folderOf(item);
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
			customMetadata: object.customMetadata ?? {},
		});
		if (written) return true;
	}
	throw new Error(`object ${key} kept changing while being rewritten`);
}
