import * as v from "valibot";

/**
 * A reference to a Worker secret or var, by name: the config document (which lives in KV and in
 * the repository) names a secret and never holds its value.
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
 * Reads a referenced secret from the Worker's env at send time, so a rotated secret is used as
 * soon as it is set.
 *
 * @throws MissingSecretError when the secret is absent or empty.
 * @example
 * resolveSecret(env, { secret: "MIXPANEL_SECRET" }) // "3f9c…"
 */
export function resolveSecret(env: object, ref: SecretRef): string {
	const value = (env as Record<string, unknown>)[ref.secret];
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
