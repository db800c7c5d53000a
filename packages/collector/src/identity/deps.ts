import { monotonicFactory, type ULIDFactory } from "ulid";
import type { LoadedConfig } from "../config/schema";
import { IdentityCache, type LimitCounts } from "./cache";
import { countingD1, type D1Calls } from "./d1-counter";
import { Lru } from "./lru";
import type { IdentityDeps } from "./resolve";
import { type IdentitySettings, identitySettings } from "./settings";
import { sourceTrust } from "./trust";

/*
 * One cache per isolate, shared by every batch it consumes. Sizes: an entry is ~100 bytes, so
 * 50,000 identifiers cost ~5 MB of the isolate's 128 MB.
 */
const identities = new Lru<string>(50_000);
const profileCounts = new Lru<LimitCounts>(20_000);
const settingsBySource = new WeakMap<
	LoadedConfig,
	Map<string, IdentitySettings>
>();
/**
 * Monotonic within the isolate: of two profiles created in the same millisecond, the later has
 * the larger id, so "merge into the oldest" still picks the first. Created on first use,
 * because Workers allow no random values at global scope.
 */
let profileUlid: ULIDFactory | undefined;

/**
 * The identity stage's dependencies for one batch: the real D1 (counted, so the consumer can
 * log round trips), this isolate's cache in front of the IDENTITY_CACHE KV namespace, each
 * source's identity rules and trust from the loaded config (a source no longer in the config
 * gets the defaults, which are the strict ones, and client trust), and `ctx.waitUntil` for
 * cache writes, when given.
 *
 * @example
 * const deps = identityDeps(env, await loadConfig(env));
 * await resolveIdentities(fresh, deps);
 * deps.d1.calls // D1 round trips made
 */
export function identityDeps(
	env: Pick<Env, "DB" | "IDENTITY_CACHE">,
	config: LoadedConfig,
	ctx?: Pick<ExecutionContext, "waitUntil">,
): IdentityDeps & { d1: D1Calls } {
	const d1 = countingD1(env.DB);
	let bySource = settingsBySource.get(config);
	if (!bySource) {
		bySource = new Map();
		settingsBySource.set(config, bySource);
	}
	const settings = bySource;
	return {
		db: d1.db,
		d1,
		cache: isolateCache(env),
		settingsFor(sourceId) {
			let found = settings.get(sourceId);
			if (!found) {
				const source = config.config.sources.find((s) => s.id === sourceId);
				found = identitySettings(source?.identity);
				settings.set(sourceId, found);
			}
			return found;
		},
		trustFor: (sourceId) => sourceTrust(config.sourcesById.get(sourceId)),
		now: () => new Date(),
		...(ctx && { defer: (work: Promise<unknown>) => ctx.waitUntil(work) }),
		newProfileId() {
			profileUlid ??= monotonicFactory();
			return `prof_${profileUlid()}`;
		},
	};
}

/**
 * This isolate's identity cache, in front of the IDENTITY_CACHE namespace.
 *
 * @example
 * await deleteProfile(env.DB, isolateCache(env), id, new Date());
 */
export function isolateCache(env: Pick<Env, "IDENTITY_CACHE">): IdentityCache {
	return new IdentityCache(identities, profileCounts, env.IDENTITY_CACHE);
}

/**
 * Forgets this isolate's cached identities and counts (KV is untouched), as a new isolate
 * would start.
 *
 * @example
 * clearIdentityMemory(); // in a test, to start from a cold isolate
 */
export function clearIdentityMemory(): void {
	identities.clear();
	profileCounts.clear();
}
