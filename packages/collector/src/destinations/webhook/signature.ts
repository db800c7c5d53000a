/*
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec §"Signature scheme"):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
 * keyed with the base64 bytes after a secret's `whsec_` prefix. During key rotation the header
 * carries one signature per secret, space-separated, and receivers accept any of them.
 */

const encoder = new TextEncoder();
const PREFIX = "whsec_";

/**
 * Whether a string is a usable Standard Webhooks secret: `whsec_` then base64 of 24–64 bytes.
 *
 * @example
 * isWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") // true
 */
export function isWebhookSecret(secret: string): boolean {
	if (!secret.startsWith(PREFIX)) return false;
	try {
		const length = atob(secret.slice(PREFIX.length)).length;
		return length >= 24 && length <= 64;
	} catch {
		// atob throws on anything that is not base64: not a secret.
		return false;
	}
}

/**
 * The `webhook-signature` header value for a message, one `v1,` signature per secret.
 *
 * @throws Error when a secret is not a `whsec_` secret.
 * @example
 * await signWebhook(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
 * // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
 */
export async function signWebhook(
	secrets: readonly string[],
	id: string,
	timestampSeconds: number,
	body: string,
): Promise<string> {
	const content = encoder.encode(`${id}.${timestampSeconds}.${body}`);
	const signatures = await Promise.all(
		secrets.map(async (secret) => {
			if (!isWebhookSecret(secret))
				throw new Error(
					"a webhook signing secret must be 'whsec_' followed by base64 of 24–64 bytes",
				);
			const raw = Uint8Array.from(atob(secret.slice(PREFIX.length)), (c) =>
				c.charCodeAt(0),
			);
			const key = await crypto.subtle.importKey(
				"raw",
				raw,
				{ name: "HMAC", hash: "SHA-256" },
				false,
				["sign"],
			);
			const mac = new Uint8Array(
				await crypto.subtle.sign("HMAC", key, content),
			);
			return `v1,${btoa(String.fromCharCode(...mac))}`;
		}),
	);
	return signatures.join(" ");
}
