/**
 * A least-recently-used map of bounded size. A Map keeps insertion order, so re-inserting on
 * every read keeps the oldest entry first, and eviction takes it.
 *
 * @example
 * const lru = new Lru<string>(2);
 * lru.set("a", "1"); lru.set("b", "2"); lru.get("a"); lru.set("c", "3");
 * lru.get("b") // undefined: it was the least recently used
 */
export class Lru<V> {
	readonly #entries = new Map<string, V>();

	constructor(readonly maxEntries: number) {
		if (!(maxEntries >= 1)) throw new Error("an Lru needs room for an entry");
	}

	get size(): number {
		return this.#entries.size;
	}

	get(key: string): V | undefined {
		const value = this.#entries.get(key);
		if (value === undefined) return undefined;
		this.#entries.delete(key);
		this.#entries.set(key, value);
		return value;
	}

	set(key: string, value: V): void {
		this.#entries.delete(key);
		this.#entries.set(key, value);
		if (this.#entries.size > this.maxEntries) {
			const oldest = this.#entries.keys().next();
			if (!oldest.done) this.#entries.delete(oldest.value);
		}
	}

	delete(key: string): void {
		this.#entries.delete(key);
	}

	clear(): void {
		this.#entries.clear();
	}
}
