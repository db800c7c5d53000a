import * as v from "valibot";

/**
 * Names in the Worker's env that are not credentials for destinations, with what each is. A
 * config that references one is refused (validation), and so is a send that asks for one
 * (`resolveSecret`), so the admin token, a binding or an operational var never leaves the
 * Worker through a destination's request. Keep in step with wrangler.toml: a test reads it.
 *
 * @example
 * RESERVED_SECRETS.get("ADMIN_TOKEN") // "the admin API's bearer token"
 */
export const RESERVED_SECRETS: ReadonlyMap<string, string> = new Map([
	["ADMIN_TOKEN", "the admin API's bearer token"],
	["CONFIG_CACHE_SECONDS", "a Worker var"],
	["EVENT_RETENTION_DAYS", "a Worker var"],
	["RATE_LIMIT_PERIOD_SECONDS", "a Worker var"],
	["DEDUP_WINDOW_HOURS", "a Worker var"],
	["CONFIG", "a Worker binding"],
	["IDENTITY_CACHE", "a Worker binding"],
	["ARCHIVE", "a Worker binding"],
	["RECORDS", "a Worker binding"],
	["DB", "a Worker binding"],
	["EVENTS", "a Worker binding"],
	["DELIVERIES", "a Worker binding"],
	["DELIVERIES_DLQ", "a Worker binding"],
	["RATE_LIMITER", "a Worker binding"],
	["CONSOLE_LIVE", "a Worker binding"],
]);

/**
 * Prefixes of names that belong to the platform's tooling: `wrangler dev` loads a `.env` file
 * into the Worker's env when there is no `.dev.vars`, and that file is where a
 * CLOUDFLARE_API_TOKEN usually lives.
 */
const RESERVED_PREFIXES = ["CF_", "CLOUDFLARE_", "WRANGLER_", "MINIFLARE_"];

/**
 * Why destinations may not read the env name `name`, or undefined when they may.
 *
 * @example
 * reservedSecret("ADMIN_TOKEN")     // "the admin API's bearer token"
 * reservedSecret("MIXPANEL_SECRET") // undefined
 */
export function reservedSecret(name: string): string | undefined {
	const known = RESERVED_SECRETS.get(name);
	if (known) return known;
	const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
	return prefix ? `reserved for the platform (${prefix}…)` : undefined;
}

/**
 * A reference to a Worker secret, by name: the config document (which lives in KV and in the
 * repository) names a secret and never holds its value. Names the Worker uses for itself
 * (`ADMIN_TOKEN`, its vars and bindings, `CF_…`/`CLOUDFLARE_…`) are refused.
 *
 * @example
 * { "apiSecret": { "secret": "GA4_API_SECRET" } }   // set with: npx wrangler secret put GA4_API_SECRET
 */
export const SecretRefSchema = v.strictObject({
	secret: v.pipe(
		v.string(),
		v.regex(
			/^[A-Z][A-Z0-9_]{0,99}$/,
			"must name a Worker secret: upper-case letters, digits and '_'",
		),
		v.check(
			(name) => reservedSecret(name) === undefined,
			(issue) =>
				`'${issue.input}' is ${reservedSecret(String(issue.input))}, not a destination credential`,
		),
	),
});
export type SecretRef = v.InferOutput<typeof SecretRefSchema>;

/** Thrown when a referenced secret is not set on the Worker: a config problem, not a network one. */
export class MissingSecretError extends Error {
	constructor(readonly secretName: string) {
		super(
			`Worker secret '${secretName}' is not set (npx wrangler secret put ${secretName}, or add it to .dev.vars locally)`,
		);
		this.name = "MissingSecretError";
	}
}

/**
 * Thrown when a send asks for an env name destinations may not read (see `reservedSecret`), or
 * for a binding. A kind of MissingSecretError, so the delivery fails for good, as a config
 * problem, without retries.
 *
 * @example
 * new RefusedSecretError("ADMIN_TOKEN", "the admin API's bearer token").message
 * // "Worker env 'ADMIN_TOKEN' is the admin API's bearer token: destinations may not read it"
 */
export class RefusedSecretError extends MissingSecretError {
	constructor(secretName: string, why: string) {
		super(secretName);
		this.name = "RefusedSecretError";
		this.message = `Worker env '${secretName}' is ${why}: destinations may not read it`;
	}
}

/**
 * Reads a referenced secret from the Worker's env at send time, so a rotated secret is used as
 * soon as it is set. Refuses reserved names even when validation was bypassed (a document
 * written to KV by hand is validated on read, and this is the second line).
 *
 * @throws RefusedSecretError for a reserved name or a non-string binding.
 * @throws MissingSecretError when the secret is absent or empty.
 * @example
 * resolveSecret(env, { secret: "MIXPANEL_SECRET" }) // "3f9c…"
 * resolveSecret(env, { secret: "ADMIN_TOKEN" })     // throws RefusedSecretError
 */
export function resolveSecret(env: object, ref: SecretRef): string {
	const reserved = reservedSecret(ref.secret);
	if (reserved) throw new RefusedSecretError(ref.secret, reserved);
	const value = (env as Record<string, unknown>)[ref.secret];
	if (value !== undefined && typeof value !== "string")
		throw new RefusedSecretError(ref.secret, "a binding, not a secret");
	if (typeof value !== "string" || value === "")
		throw new MissingSecretError(ref.secret);
	return value;
}

/**
 * Every secret name a value references, at any depth (for `npm run config -- validate`).
 *
 * @example
 * secretNames({ a: { secret: "X" }, b: [{ secret: "Y" }] }) // ["X", "Y"]
 */
export function secretNames(value: unknown): string[] {
	const found = new Set<string>();
	const walk = (node: unknown): void => {
		if (Array.isArray(node)) node.forEach(walk);
		else if (typeof node === "object" && node !== null) {
			const { secret } = node as { secret?: unknown };
			if (typeof secret === "string" && Object.keys(node).length === 1)
				found.add(secret);
			else Object.values(node).forEach(walk);
		}
	};
	walk(value);
	return [...found].sort();
}
