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
	 * How many events the store holds; asked at start, before this page adds any, it counts
	 * what earlier visits and other tabs left unsent (undefined without storage).
	 */
	_stored(): Promise<number | undefined>;
}

/**
 * A stored record: the JSON text of up to {@link CHUNK} events queued in one task, under the
 * first one's messageId. One write request per chunk rather than per event, and text rather
 * than objects: Chromium's cost per IndexedDB request and per structured-cloned object was most
 * of track()'s. An event object is a record of one event, as version 0.1.0 wrote them.
 */
type Stored = string | ConduitEvent;
/** Events per record: a chunk stays under the 64 KB past which Chromium moves a value to a blob. */
const CHUNK = 50;
const unpack = (value: Stored | undefined): ConduitEvent[] =>
	typeof value === "string" ? JSON.parse(value) : value ? [value] : [];

/**
 * Every stored record's key and events, in key order, in one read-only transaction.
 *
 * @example
 * for (const [key, events] of await readChunks(store)) console.log(key, events.length);
 */
export function readChunks(
	store: UseStore,
): Promise<[key: string, events: ConduitEvent[]][]> {
	return store("readonly", (records) => {
		const keys = records.getAllKeys();
		// Requests of one transaction complete in order: the keys are in when the values are.
		return promisifyRequest(records.getAll()).then((values: Stored[]) =>
			values.map((value, i) => [keys.result[i] as string, unpack(value)]),
		);
	});
}

/**
 * Deletes the events `ids` from the records `keys` in one read-write transaction: a record
 * that holds nothing else (`whole`) is deleted unread; any other is read, and written back
 * without them, or deleted once empty. Read-write transactions on a store run one at a time
 * across tabs, so nothing lands between the read and the write.
 *
 * @example
 * await deleteEvents(new Set(["01J…A", "01J…B"]), ["01J…A"], new Set(["01J…A"]), store);
 */
export function deleteEvents(
	ids: Set<string>,
	keys: Iterable<string>,
	whole: Set<string>,
	store: UseStore,
): Promise<void> {
	return write(store, (records) => {
		for (const key of keys) {
			if (whole.has(key)) {
				records.delete(key);
				continue;
			}
			const read = records.get(key);
			read.onsuccess = () => {
				const left = unpack(read.result).filter((e) => !ids.has(e.messageId));
				if (left.length) records.put(JSON.stringify(left), key);
				else records.delete(key);
			};
		}
	});
}

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
	/** The record each stored event is in, by messageId. */
	const chunkOf = new Map<string, string>();
	const forget = (ids: readonly string[]) => {
		for (const id of ids) mem.delete(id);
	};
	const del = async (events: readonly ConduitEvent[]) => {
		const ids = new Set(events.map((e) => e.messageId));
		const keys = new Set<string>();
		for (const id of ids) {
			mem.delete(id);
			const key = chunkOf.get(id);
			if (key) keys.add(key);
			chunkOf.delete(id);
		}
		// A record none of whose other events this tab knows of holds nothing else: records
		// only ever lose events, and this tab learnt each record's events when it wrote or read it.
		const whole = new Set(keys);
		for (const key of chunkOf.values()) whole.delete(key);
		if (store && keys.size) await idb((s) => deleteEvents(ids, keys, whole, s));
	};
	const drop = async (events: ConduitEvent[], code: ErrorCode) => {
		if (events.length) report(code, events.length);
		await del(events);
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
					for (const e of chunk) chunkOf.set(e.messageId, key);
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
			const mine = [...mem.values()];
			const chunks = await idb(readChunks);
			let list = mine;
			if (chunks) {
				list = [];
				for (const [key, events] of chunks)
					for (const e of events) {
						chunkOf.set(e.messageId, key);
						list.push(e);
					}
				// Records of several tabs interleave in time: messageIds (ULIDs) sort by it.
				if (chunks.length > 1)
					list.sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
			}
			const oldest = rt._now() - maxAge;
			await drop(
				list.filter((e) => Date.parse(e.timestamp) < oldest),
				"expired",
			);
			list = list.filter((e) => Date.parse(e.timestamp) >= oldest);
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
				chunkOf.clear();
				channel?.close();
				store = channel = undefined;
			}
		},
		_shared: () => !!store,
		// A read-only transaction made before this page's first write sees the store without it.
		_stored: async () =>
			(await idb(readChunks))?.reduce((n, [, events]) => n + events.length, 0),
	};
}
