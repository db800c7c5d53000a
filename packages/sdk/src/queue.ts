import { createStore, promisifyRequest, type UseStore } from "idb-keyval";
import { write } from "./idb";
import type { Runtime } from "./runtime";
import type { ConduitEvent, ErrorCode } from "./types";

/**
 * The offline queue. Every event lives in memory (this tab's unacknowledged events, which
 * `pagehide` can still send) and, while storage is allowed, in IndexedDB: the events queued in
 * one task are written in one transaction, as records of up to 50 events each, under the first
 * one's messageId (ULIDs sort by time, so the store reads back oldest first). Any IndexedDB
 * failure switches the page to memory for good and is reported once.
 */
export interface Queue {
	/** Takes an event; it reaches IndexedDB before {@link Queue._all} next reads. */
	_add(event: ConduitEvent): void;
	/**
	 * Every stored event (all tabs, earlier visits), oldest first, within maxAge and maxQueue;
	 * the caller is about to send them.
	 */
	_all(): Promise<ConduitEvent[]>;
	/** Forgets events once the collector acknowledged (or refused) them, in every tab. */
	_del(events: readonly ConduitEvent[]): Promise<void>;
	/** This tab's unacknowledged events, oldest first. */
	_mem(): ConduitEvent[];
	/** Starts or stops using IndexedDB; stopping purges what it holds. */
	_persist(on: boolean): void;
	/** Whether events are in IndexedDB, so other tabs share them. */
	_shared(): boolean;
	/**
	 * How many records the store holds; asked at start, before this page adds any, it counts
	 * what earlier visits and other tabs left unsent (undefined without storage).
	 */
	_stored(): Promise<number | undefined>;
}

/**
 * A stored record: the JSON text of up to {@link CHUNK} events queued in one task, under the
 * first one's messageId. One write request per chunk rather than per event, and text rather
 * than objects: Chromium's cost per IndexedDB request and per structured-cloned object was most
 * of track()'s. An event object is a record of one event, as version 0.1.0 wrote them.
 *
 * A record never changes under its key: taking some of its events out deletes it and stores
 * the rest under a new key. A tab that wrote or read a record therefore knows its events for as
 * long as the key is in the store, and reads back only the keys, and the records it does not
 * know (other tabs', earlier visits').
 */
type Stored = string | ConduitEvent;
/** Events per record: a chunk stays under the 64 KB past which Chromium moves a value to a blob. */
const CHUNK = 50;
const unpack = (value: Stored | undefined): ConduitEvent[] =>
	typeof value === "string" ? JSON.parse(value) : value ? [value] : [];

/** IndexedDB database and object store; the version is in the name, like every stored key. */
const DB = "conduit:v1";

/**
 * Creates the queue, in memory until `_persist(true)`.
 *
 * @param report called with the number of events dropped and why
 * @example
 * const queue = createQueue(rt, 1000, 7 * 86_400_000, (code, count) => console.warn(code, count));
 * queue._persist(true);
 * queue._add(event);
 */
export function createQueue(
	rt: Runtime,
	maxQueue: number,
	maxAge: number,
	report: (code: ErrorCode, count: number) => void,
): Queue {
	const mem = new Map<string, ConduitEvent>();
	let store: UseStore | undefined;
	let pending: ConduitEvent[] = [];
	let written: Promise<unknown> = Promise.resolve();
	let channel: BroadcastChannel | undefined;

	// idb-keyval opens the database on first use, and a missing or blocked IndexedDB throws
	// synchronously there: starting every call inside a promise turns both into one rejection,
	// after which this page keeps its events in memory.
	const idb = <T>(op: (s: UseStore) => Promise<T>, fallback?: T) =>
		Promise.resolve(store)
			.then((s) => s && op(s))
			.catch(() => {
				if (store) report("storage", 0);
				store = undefined;
				return fallback;
			});
	/** The events of each record this tab wrote or read, by key (see {@link Stored}). */
	const recs = new Map<string, ConduitEvent[]>();
	const forget = (ids: readonly string[]) => {
		for (const id of ids) mem.delete(id);
	};
	/**
	 * Every stored event, oldest record first, in one read-only transaction: it reads the keys,
	 * and the records this tab does not know.
	 */
	const read = (s: UseStore) =>
		s("readonly", (records) => {
			const keys = records.getAllKeys();
			keys.onsuccess = () => {
				const there = new Set(keys.result as string[]);
				// A record this tab knew of that is gone was sent or dropped by another tab: this
				// tab's pagehide must not send its events again.
				for (const [key, held] of recs)
					if (!there.has(key)) {
						forget(held.map((e) => e.messageId));
						recs.delete(key);
					}
				for (const key of there)
					if (!recs.has(key)) {
						const value = records.get(key);
						value.onsuccess = () => recs.set(key, unpack(value.result));
					}
			};
			return promisifyRequest(records.transaction).then(() =>
				(keys.result as string[]).flatMap((key) => recs.get(key) || []),
			);
		});
	/**
	 * Takes `events` out of memory and out of the records holding them: a record left empty is
	 * deleted, any other replaced by the rest under a new key.
	 */
	const del = (events: readonly ConduitEvent[]) => {
		const ids = events.map((e) => e.messageId);
		const gone = new Set(ids);
		forget(ids);
		return idb((s) =>
			write(s, (records) => {
				for (const [key, held] of recs) {
					const rest = held.filter((e) => !gone.has(e.messageId));
					if (rest.length === held.length) continue;
					recs.delete(key);
					if (rest[0]) {
						// After the rest's first event in key order, and unlike any key before it.
						const next = `${rest[0].messageId}.${rt._random()}`;
						recs.set(next, rest);
						// Another tab may have taken the record meanwhile (a closing tab sends
						// without the lease): the rest is stored only if the record still is.
						const there = records.count(key);
						there.onsuccess = () => {
							if (there.result) records.put(JSON.stringify(rest), next);
						};
					}
					records.delete(key);
				}
			}),
		);
	};
	const drop = async (events: ConduitEvent[], code: ErrorCode) => {
		if (events[0]) {
			report(code, events.length);
			await del(events);
		}
	};
	const add = (event: ConduitEvent) => {
		mem.set(event.messageId, event);
		if (mem.size > maxQueue) {
			// In memory mode this is the bound; with IndexedDB, _all trims the store and reports.
			const [oldest] = mem.keys();
			mem.delete(oldest as string);
			if (!store) report("overflow", 1);
		}
		if (!store) return;
		if (!pending.length)
			written = Promise.resolve().then(() => {
				const records: [string, string][] = [];
				for (let i = 0; i < pending.length; i += CHUNK) {
					const chunk = pending.slice(i, i + CHUNK);
					const key = (chunk[0] as ConduitEvent).messageId;
					recs.set(key, chunk);
					records.push([key, JSON.stringify(chunk)]);
				}
				pending = [];
				return idb((s) =>
					write(s, (events) => {
						for (const [key, json] of records) events.put(json, key);
					}),
				);
			});
		pending.push(event);
	};

	return {
		_add: add,
		async _all() {
			await written;
			let list = (await idb(read)) || [...mem.values()];
			// Records of several tabs interleave in time: messageIds (ULIDs) sort by it.
			list.sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
			const oldest = rt._now() - maxAge;
			const expired: ConduitEvent[] = [];
			// push() answers the new length, never 0: an expired event leaves the list.
			list = list.filter(
				(e) => Date.parse(e.timestamp) >= oldest || !expired.push(e),
			);
			await drop(expired, "expired");
			await drop(list.splice(0, list.length - maxQueue), "overflow");
			// This tab sends these now: other tabs forget them, so their pagehide does not resend
			// them. Should the send fail, they are still stored, for the next flush or visit.
			channel?.postMessage(list.map((e) => e.messageId));
			return list;
		},
		_del: del,
		_mem: () => [...mem.values()],
		_persist(on) {
			if (on && !store) {
				store = createStore(DB, "events");
				try {
					channel = new BroadcastChannel(DB);
					channel.onmessage = (message) => forget(message.data);
				} catch {
					// No BroadcastChannel: a closing tab may resend what another tab sent; the
					// collector's messageId deduplication absorbs that.
				}
				// What this tab queued before storage was allowed is stored now.
				for (const event of mem.values()) add(event);
			}
			if (!on && store) {
				idb((s) => write(s, (events) => events.clear()));
				recs.clear();
				channel?.close();
				store = channel = undefined;
			}
		},
		_shared: () => !!store,
		// A read-only transaction made before this page's first write sees the store without it.
		_stored: () =>
			idb((s) => s("readonly", (records) => promisifyRequest(records.count()))),
	};
}
