import {
	clear,
	createStore,
	promisifyRequest,
	setMany,
	type UseStore,
} from "idb-keyval";
import type { Runtime } from "./runtime";
import type { ConduitEvent, ErrorCode } from "./types";

/**
 * The offline queue. Every event lives in memory (this tab's unacknowledged events, which
 * `pagehide` can still send) and, while storage is allowed, in IndexedDB under its messageId:
 * ULIDs sort by time, so the store reads back oldest first. Writes made in one task share one
 * transaction. Any IndexedDB failure switches the page to memory for good and is reported once.
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
 * Every stored event, oldest first (by key: ULIDs sort by time). IndexedDB 2.0's getAll, which
 * every browser the SDK supports has, rather than idb-keyval's `entries`, which also reads the
 * keys and carries a cursor fallback for browsers that lack it.
 *
 * @example
 * const events = await readEvents(store);
 */
export function readEvents(store: UseStore): Promise<ConduitEvent[]> {
	return store("readonly", (events) => promisifyRequest(events.getAll()));
}

/**
 * Deletes the events `ids` (sorted) in one read-write transaction: as one key range when the
 * range holds exactly them, which is one request instead of one per event, else one by one
 * (another tab stored an event inside the range, or some are gone already). Read-write
 * transactions on a store run one at a time, so nothing lands between the look and the delete.
 *
 * @example
 * await deleteEvents(["01J…A", "01J…B"], store);
 */
export function deleteEvents(ids: string[], store: UseStore): Promise<void> {
	return store("readwrite", (events) => {
		const range = IDBKeyRange.bound(ids[0], ids[ids.length - 1]);
		const keys = events.getAllKeys(range);
		keys.onsuccess = () => {
			if (keys.result.every((key, i) => key === ids[i])) events.delete(range);
			else for (const id of ids) events.delete(id);
		};
		return promisifyRequest(events.transaction);
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
	let pending: [string, ConduitEvent][] = [];
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
	const forget = (ids: readonly string[]) => {
		for (const id of ids) mem.delete(id);
	};
	const del = async (events: readonly ConduitEvent[]) => {
		const ids = events.map((e) => e.messageId).sort();
		forget(ids);
		if (store && ids.length) await idb((s) => deleteEvents(ids, s));
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
				const batch = pending;
				pending = [];
				return idb((s) => setMany(batch, s));
			});
		pending.push([event.messageId, event]);
	};

	return {
		_add: add,
		async _all() {
			await written;
			const mine = [...mem.values()];
			let list = (await idb(readEvents, mine)) ?? mine;
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
				idb(clear);
				channel?.close();
				store = channel = undefined;
			}
		},
		_shared: () => !!store,
		// A read-only transaction made before this page's first write sees the store without it.
		_stored: async () => (await idb(readEvents))?.length,
	};
}
