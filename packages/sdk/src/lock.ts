import type { Runtime } from "./runtime";

/** One name for every tab of the origin: whoever holds it is the only one sending stored events. */
const NAME = "conduit:v1:send";
/** A lease outlives one send (the 500 KB request on a slow line), not a closed tab for long. */
const LEASE_MS = 10_000;

/**
 * Runs `task` while no other tab of this site sends stored events: with the Web Locks API, tabs
 * queue for the lock and each reads the store only once it holds it, so an event acknowledged
 * by one tab is gone before the next looks. Without Web Locks, a tab takes a lease in
 * localStorage (its id and an expiry), renewed on each send; while another tab's lease is live,
 * `task` does not run and the result is undefined. localStorage is not atomic across processes,
 * so the lease is best effort; the collector's messageId deduplication covers what slips by.
 *
 * @example
 * const sent = await exclusive(rt, "tab-1", () => sendStoredEvents()); // undefined: another tab sends
 */
export function exclusive<T>(
	rt: Runtime,
	tab: string,
	task: () => Promise<T>,
): Promise<T | undefined> {
	const locks = rt._w.navigator.locks;
	if (locks) return locks.request(NAME, task) as Promise<T>;
	const [holder, until] = (rt._get(NAME) || "").split(" ");
	if (holder !== tab && +(until || 0) > rt._now())
		return Promise.resolve(undefined);
	rt._put(NAME, `${tab} ${rt._now() + LEASE_MS}`);
	// Blocked storage cannot hold a lease, but then no other tab shares this tab's events either.
	const mine = (rt._get(NAME) || tab).startsWith(tab);
	// Released when done, so a waiting tab need not sit out the lease.
	return mine
		? task().finally(() => rt._put(NAME, null))
		: Promise.resolve(undefined);
}
