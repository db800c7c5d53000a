import { promisifyRequest, type UseStore } from "idb-keyval";

/**
 * Runs `op` on the object store in a read-write transaction; resolves once it has committed.
 * Written here rather than taken from idb-keyval, whose writers each carry its default store.
 *
 * @example
 * await write(store, (records) => records.clear());
 */
export function write(
	store: UseStore,
	op: (records: IDBObjectStore) => void,
): Promise<void> {
	return store("readwrite", (records) => {
		op(records);
		return promisifyRequest(records.transaction);
	});
}
