import { ApiError } from "../errors";
import { type LoadedConfig, parseConfig } from "./schema";

/** The KV key that holds the config document in the CONFIG namespace. */
export const CONFIG_KEY = "config";

interface CacheEntry {
	config: LoadedConfig;
	expiresAt: number;
}

/**
 * One entry per isolate. KV reads cost a round trip, and the config changes rarely, so each
 * isolate keeps it for CONFIG_CACHE_SECONDS (30 s by default): a pushed change is live everywhere
 * within that time (plus KV's own propagation), without a redeploy.
 */
let cache: CacheEntry | undefined;
let pending: Promise<LoadedConfig> | undefined;

/**
 * Returns the current config, from the isolate cache when fresh, else from KV.
 * Concurrent callers on a cold isolate share one KV read.
 *
 * @throws ApiError 503 when the config is missing or invalid: clients keep their events and retry.
 * @example
 * const { sourcesByWriteKey } = await loadConfig(env);
 */
export async function loadConfig(
	env: Pick<Env, "CONFIG" | "CONFIG_CACHE_SECONDS">,
	now = Date.now(),
): Promise<LoadedConfig> {
	if (cache && cache.expiresAt > now) return cache.config;
	pending ??= readConfig(env, now).finally(() => {
		pending = undefined;
	});
	return pending;
}

async function readConfig(
	env: Pick<Env, "CONFIG" | "CONFIG_CACHE_SECONDS">,
	now: number,
): Promise<LoadedConfig> {
	let raw: unknown;
	try {
		raw = await env.CONFIG.get(CONFIG_KEY, "json");
	} catch (error) {
		console.error(
			JSON.stringify({ msg: "config read failed", error: String(error) }),
		);
		throw new ApiError(
			503,
			"config_unavailable",
			"The collector's configuration could not be read",
			{ "Retry-After": "5" },
		);
	}
	if (raw === null) {
		throw new ApiError(
			503,
			"not_configured",
			`No configuration in KV key '${CONFIG_KEY}'`,
			{ "Retry-After": "30" },
		);
	}
	const parsed = parseConfig(raw);
	if (!parsed.ok) {
		console.error(
			JSON.stringify({ msg: "config invalid", errors: parsed.errors }),
		);
		throw new ApiError(
			503,
			"config_invalid",
			"The collector's configuration is invalid",
			{ "Retry-After": "30" },
		);
	}
	const seconds = Number(env.CONFIG_CACHE_SECONDS);
	const ttlMs =
		(Number.isFinite(seconds) && seconds >= 0 ? seconds : 30) * 1000;
	cache = { config: parsed.config, expiresAt: now + ttlMs };
	return parsed.config;
}

/** Forgets the cached config, so the next call reads KV. */
export function clearConfigCache(): void {
	cache = undefined;
}
