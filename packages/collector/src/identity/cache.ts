import type { Lru } from "./lru";

/** KV rejects longer keys; identifiers with such keys are resolved through D1 only. */
const KV_MAX_KEY_BYTES = 512;
/** KV's bulk get takes at most this many keys. */
const KV_BULK_GET = 100;
/** A KV entry for an identifier that is not seen again expires after this long. */
const KV_TTL_SECONDS = 30 * 86_400;

/** Per limited identifier type, how many identities a profile held when last seen. */
export type LimitCounts = Record<string, number>;

/** Where each looked-up identifier's hint came from. */
export interface CacheLookup {
	/** Identity key → profile id. Hints, not truth: the resolver verifies them (see resolve.ts). */
	hints: Map<string, string>;
	fromMemory: number;
	fromKv: number;
}

/**
 * The resolver's cache: identity key → profile id (`identity:<type>:<value>`), and each
 * profile's identity counts for the limited types (`limits:<profile id>`), both in an isolate
 * LRU in front of KV. Entries can be stale (another isolate merged or deleted the profile), so
 * they are only ever hints: a profile id from here is checked by the write batch's guard, and
 * counts are lower bounds (a profile's identities only grow until it is deleted), which is
 * enough to refuse a merge but never to allow one. KV failures are logged and ignored: the
 * cache is an accelerator, D1 is the truth.
 *
 * @example
 * const cache = new IdentityCache(new Lru(20_000), new Lru(5_000), env.IDENTITY_CACHE);
 * const { hints } = await cache.lookup(["identity:user_id:u1"]);
 */
export class IdentityCache {
	constructor(
		readonly identities: Lru<string>,
		readonly profileCounts: Lru<LimitCounts>,
		readonly kv: KVNamespace | undefined,
	) {}

	/** Hints for `keys`: from the LRU, then (for the rest) from KV in bulk. */
	async lookup(keys: Iterable<string>): Promise<CacheLookup> {
		const hints = new Map<string, string>();
		const missing: string[] = [];
		for (const key of new Set(keys)) {
			const hit = this.identities.get(key);
			if (hit) hints.set(key, hit);
			else if (this.kv && fitsKv(key)) missing.push(key);
		}
		const fromMemory = hints.size;
		const kv = this.kv;
		if (kv && missing.length > 0) {
			const chunks: string[][] = [];
			for (let i = 0; i < missing.length; i += KV_BULK_GET)
				chunks.push(missing.slice(i, i + KV_BULK_GET));
			try {
				const found = await Promise.all(
					chunks.map((chunk) => kv.get(chunk, "text")),
				);
				for (const map of found)
					for (const [key, value] of map)
						if (value) {
							hints.set(key, value);
							this.identities.set(key, value);
						}
			} catch (error) {
				warn("identity cache read failed", error);
			}
		}
		return { hints, fromMemory, fromKv: hints.size - fromMemory };
	}

	/** Limited-type counts of profiles: from the LRU, and with `kv` for the rest from KV. */
	async counts(
		profileIds: readonly string[],
		options: { kv: boolean },
	): Promise<Map<string, LimitCounts>> {
		const found = new Map<string, LimitCounts>();
		const missing: string[] = [];
		for (const id of new Set(profileIds)) {
			const hit = this.profileCounts.get(id);
			if (hit) found.set(id, hit);
			else missing.push(limitsKey(id));
		}
		const kv = this.kv;
		if (!options.kv || !kv || missing.length === 0) return found;
		try {
			for (let i = 0; i < missing.length; i += KV_BULK_GET) {
				const map = await kv.get<LimitCounts>(
					missing.slice(i, i + KV_BULK_GET),
					"json",
				);
				for (const [key, counts] of map)
					if (counts) {
						const id = key.slice(LIMITS_PREFIX.length);
						found.set(id, counts);
						this.profileCounts.set(id, counts);
					}
			}
		} catch (error) {
			warn("identity cache read failed", error);
		}
		return found;
	}

	/** Records profiles' exact counts, in the LRU and (awaited, best effort) in KV. */
	async rememberCounts(
		counts: ReadonlyMap<string, LimitCounts>,
	): Promise<void> {
		const writes: Promise<void>[] = [];
		for (const [id, value] of counts) {
			const known = this.profileCounts.get(id);
			this.profileCounts.set(id, value);
			if (this.kv && !sameCounts(known, value))
				writes.push(
					this.kv.put(limitsKey(id), JSON.stringify(value), {
						expirationTtl: KV_TTL_SECONDS,
					}),
				);
		}
		await settle(writes, "identity cache write failed");
	}

	/** Records where identifiers now live, in the LRU and (awaited, best effort) in KV. */
	async remember(entries: ReadonlyMap<string, string>): Promise<void> {
		const writes: Promise<void>[] = [];
		for (const [key, profileId] of entries) {
			this.identities.set(key, profileId);
			if (this.kv && fitsKv(key))
				writes.push(
					this.kv.put(key, profileId, { expirationTtl: KV_TTL_SECONDS }),
				);
		}
		await settle(writes, "identity cache write failed");
	}

	/** Drops identifiers (and profiles' counts) that may be wrong, from the LRU and, with `kv`, from KV. */
	async forget(
		keys: Iterable<string>,
		profileIds: Iterable<string> = [],
		options: { kv: boolean } = { kv: false },
	): Promise<void> {
		const deletes: Promise<void>[] = [];
		for (const key of keys) {
			this.identities.delete(key);
			if (options.kv && this.kv && fitsKv(key))
				deletes.push(this.kv.delete(key));
		}
		for (const id of profileIds) {
			this.profileCounts.delete(id);
			if (options.kv && this.kv) deletes.push(this.kv.delete(limitsKey(id)));
		}
		await settle(deletes, "identity cache delete failed");
	}
}

const LIMITS_PREFIX = "limits:";
function limitsKey(profileId: string): string {
	return `${LIMITS_PREFIX}${profileId}`;
}

function sameCounts(a: LimitCounts | undefined, b: LimitCounts): boolean {
	if (!a) return false;
	const keys = Object.keys(b);
	return (
		keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k])
	);
}

const encoder = new TextEncoder();
function fitsKv(key: string): boolean {
	return encoder.encode(key).byteLength <= KV_MAX_KEY_BYTES;
}

async function settle(work: Promise<void>[], msg: string): Promise<void> {
	const results = await Promise.allSettled(work);
	const failed = results.filter((r) => r.status === "rejected");
	if (failed.length > 0) warn(msg, failed[0]?.reason, failed.length);
}

function warn(msg: string, error: unknown, count = 1): void {
	console.warn(JSON.stringify({ msg, count, error: String(error) }));
}
