import type { Context } from "hono";
import pkg from "../../package.json";
import { CONFIG_KEY } from "../config/load";
import { parseConfig } from "../config/schema";
import { countParked, type ParkedKind } from "../db/parked";
import type { AppEnv } from "./env";

interface Check {
	ok: boolean;
	ms: number;
	error?: string;
}

async function timed(run: () => Promise<unknown>): Promise<Check> {
	const started = Date.now();
	try {
		await run();
		return { ok: true, ms: Date.now() - started };
	} catch (error) {
		return {
			ok: false,
			ms: Date.now() - started,
			error: error instanceof Error ? error.message : String(error),
		};
	}
}

/** A binding that cannot be probed without side effects: check that it is there. */
function present(binding: unknown, method: string): () => Promise<void> {
	return async () => {
		if (
			typeof (binding as Record<string, unknown> | undefined)?.[method] !==
			"function"
		)
			throw new Error("binding missing");
	};
}

/**
 * GET /health: the version and whether each binding answers. D1 runs a query, KV reads (and
 * validates) the config, the identity cache reads a key, the events-of-record bucket answers a
 * HEAD; a queue cannot be read from its producer side without sending, and the console's
 * Durable Object would wake for nothing, so for EVENTS, DELIVERIES, RATE_LIMITER and
 * CONSOLE_LIVE the check is that the binding is present. 200 when all pass, else 503. `parked` counts the events and
 * deliveries waiting for an operator (`npm run parked`), per kind: information, never a reason
 * for a 503 (the pipeline runs on while they wait); null when D1 cannot say.
 *
 * @example
 * curl http://localhost:8787/health
 * // {"status":"ok","version":"0.1.0","bindings":{"DB":{"ok":true,"ms":1},…},"parked":{"event":0,"delivery":2}}
 */
export async function health(c: Context<AppEnv>) {
	const { env } = c;
	// Each binding's probe, by name, in the order the answer lists them.
	const probes: Record<string, () => Promise<unknown>> = {
		DB: () => env.DB.prepare("SELECT 1").first(),
		CONFIG: async () => {
			const raw = await env.CONFIG.get(CONFIG_KEY, "json");
			if (raw === null) throw new Error(`no config in key '${CONFIG_KEY}'`);
			const parsed = parseConfig(raw);
			if (!parsed.ok)
				throw new Error(`invalid config: ${parsed.errors.join("; ")}`);
		},
		// Any key will do: a miss answers as surely as a hit.
		IDENTITY_CACHE: () => env.IDENTITY_CACHE.get("identity:health:check"),
		RECORDS: () => env.RECORDS.head("health-check"),
		EVENTS: present(env.EVENTS, "sendBatch"),
		DELIVERIES: present(env.DELIVERIES, "sendBatch"),
		RATE_LIMITER: present(env.RATE_LIMITER, "limit"),
		CONSOLE_LIVE: present(env.CONSOLE_LIVE, "idFromName"),
	};
	const [checks, parked] = await Promise.all([
		Promise.all(
			Object.entries(probes).map(
				async ([name, probe]) => [name, await timed(probe)] as const,
			),
		),
		countParked(env.DB).catch((): Record<ParkedKind, number> | null => null),
	]);
	const bindings: Record<string, Check> = Object.fromEntries(checks);
	const ok = Object.values(bindings).every((check) => check.ok);
	return c.json(
		{ status: ok ? "ok" : "degraded", version: pkg.version, bindings, parked },
		ok ? 200 : 503,
	);
}
