import { createStore, type UseStore } from "idb-keyval";
import { write } from "./idb";
import type { Runtime } from "./runtime";

/** One name for every tab of the origin: whoever holds it is the only one sending stored events. */
const NAME = "conduit:v1:send";
/**
 * A lease outlives one drain (a few requests), and not for long a tab that closed while holding
 * it (pagehide gives it back, but a transaction started while the page dies may not finish).
 */
const LEASE_MS = 5000;

/** Who holds the fallback lease, and until when. */
type Lease = [tab: string, until: number] | undefined;
let leases: UseStore | undefined;

/**
 * Takes the fallback lease for `tab` (`take`), or gives it back; resolves whether `tab` holds it.
 *
 * @example
 * if (await lease(rt, "tab-1", true)) await sendStoredEvents();
 * lease(rt, "tab-1", false); // on pagehide, so other tabs need not wait for the expiry
 */
export async function lease(
	rt: Runtime,
	tab: string,
	take: boolean,
): Promise<boolean> {
	let mine = false;
	leases ||= createStore(NAME, "lease");
	await write(leases, (store) => {
		const read = store.get(NAME);
		read.onsuccess = () => {
			const held: Lease = read.result;
			mine = take && (!held || held[0] === tab || held[1] < rt._now());
			if (mine) store.put([tab, rt._now() + LEASE_MS], NAME);
			else if (!take && held?.[0] === tab) store.delete(NAME);
		};
	});
	return mine;
}

/**
 * Runs `task` while no other tab of this site sends stored events. With the Web Locks API, tabs
 * queue for the lock and each reads the store only once it holds it, so an event acknowledged
 * by one tab is gone before the next looks. Without Web Locks, a tab takes a {@link lease} (its
 * id and an expiry) in an IndexedDB read-write transaction, which IndexedDB runs one at a time
 * across tabs, so taking it is a true compare-and-set (localStorage is not: it reaches other
 * processes late). While another tab's lease is live, `task` does not run: undefined.
 *
 * @example
 * const sent = await exclusive(rt, "tab-1", () => sendStoredEvents()); // undefined: another tab sends
 */
export async function exclusive<T>(
	rt: Runtime,
	tab: string,
	task: () => Promise<T>,
): Promise<T | undefined> {
	const locks = rt._w.navigator.locks;
	if (locks) return locks.request(NAME, task) as Promise<T>;
	try {
		if (!(await lease(rt, tab, true))) return;
	} catch {
		// IndexedDB failed: the queue falls back to this tab's memory, which no other tab shares.
		return task();
	}
	try {
		return await task();
	} finally {
		// Released when done, so a waiting tab need not sit out the lease; else it expires.
		lease(rt, tab, false).catch(() => {});
	}
}
