/*
 * The console's session: a signed cookie, no server-side store. The key is derived from
 * ADMIN_TOKEN, so rotating the token signs every console user out. The cookie carries an expiry
 * and a random nonce; the CSRF token is the nonce's own signature, so a page can only know it
 * by having been served by the console (the cookie itself is HttpOnly).
 */

/** How long a sign-in lasts: short, as an admin session should be. */
export const SESSION_SECONDS = 60 * 60;
/** The cookie's name; `Path=/console` keeps it off every other route. */
export const SESSION_COOKIE = "conduit_console";

/** A verified session. */
export interface Session {
	/** Expiry, ms since the epoch. */
	expiresAt: number;
	/** The token every mutation must carry (form field `_csrf` or header `X-CSRF-Token`). */
	csrf: string;
}

const encoder = new TextEncoder();

async function keyFor(adminToken: string): Promise<CryptoKey> {
	const raw = await crypto.subtle.digest(
		"SHA-256",
		encoder.encode(`conduit console session v1\n${adminToken}`),
	);
	return crypto.subtle.importKey(
		"raw",
		raw,
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign", "verify"],
	);
}

function base64url(bytes: ArrayBuffer | Uint8Array): string {
	const array = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	let text = "";
	for (const byte of array) text += String.fromCharCode(byte);
	return btoa(text)
		.replaceAll("+", "-")
		.replaceAll("/", "_")
		.replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
	if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
	const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
	return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function sign(key: CryptoKey, text: string): Promise<string> {
	return base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

/**
 * A new session's cookie value and its CSRF token.
 *
 * @example
 * const { value, session } = await createSession(env.ADMIN_TOKEN, Date.now());
 */
export async function createSession(
	adminToken: string,
	nowMs: number,
): Promise<{ value: string; session: Session }> {
	const key = await keyFor(adminToken);
	const nonce = base64url(crypto.getRandomValues(new Uint8Array(18)));
	const expiresAt = nowMs + SESSION_SECONDS * 1000;
	const body = `${expiresAt}.${nonce}`;
	const value = `${body}.${await sign(key, `session:${body}`)}`;
	return {
		value,
		session: { expiresAt, csrf: await sign(key, `csrf:${nonce}`) },
	};
}

/**
 * The session a cookie value proves, or undefined when it is malformed, forged or expired.
 *
 * @example
 * const session = await readSession(env.ADMIN_TOKEN, getCookie(c, SESSION_COOKIE), Date.now());
 */
export async function readSession(
	adminToken: string,
	value: string | undefined,
	nowMs: number,
): Promise<Session | undefined> {
	const match =
		/^([0-9]{1,16})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/.exec(
			value ?? "",
		);
	if (!match) return undefined;
	const [, expiry, nonce, signature] = match as unknown as [
		string,
		string,
		string,
		string,
	];
	const expiresAt = Number(expiry);
	if (expiresAt <= nowMs) return undefined;
	const key = await keyFor(adminToken);
	const given = fromBase64url(signature);
	if (!given) return undefined;
	const valid = await crypto.subtle.verify(
		"HMAC",
		key,
		given,
		encoder.encode(`session:${expiry}.${nonce}`),
	);
	if (!valid) return undefined;
	return { expiresAt, csrf: await sign(key, `csrf:${nonce}`) };
}

/**
 * Compares a submitted CSRF token with the session's in constant time.
 *
 * @example
 * if (!(await sameToken(form._csrf, session.csrf))) throw forbidden();
 */
export async function sameToken(
	given: string,
	expected: string,
): Promise<boolean> {
	const [a, b] = await Promise.all(
		[given, expected].map((s) =>
			crypto.subtle.digest("SHA-256", encoder.encode(s)),
		),
	);
	return crypto.subtle.timingSafeEqual(a as ArrayBuffer, b as ArrayBuffer);
}
