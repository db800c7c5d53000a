import {
	DEV_ADMIN_TOKEN,
	MIN_ADMIN_TOKEN_LENGTH,
} from "../http/middleware/admin-auth";
import { devTokenRefusal } from "../http/middleware/local-tool";
import { sameToken } from "./session";

/*
 * Signing in to the console. Must pass: the only outcomes are a session or a refusal with its
 * reason. Failed attempts are counted in D1 per client address and 15-minute window, so a
 * guesser is stopped after MAX_FAILURES whichever isolate or location answers, and a restart
 * does not reset the count.
 */

/** Failed sign-ins allowed per client address and window. */
export const MAX_FAILURES = 5;
/** The window of the failure count. */
export const WINDOW_MS = 15 * 60 * 1000;

/** Why a sign-in was refused, as data; `ok` when the token is right. */
export type SignInOutcome =
	| { ok: true }
	| {
			ok: false;
			status: 401 | 403 | 429 | 503;
			message: string;
			retryAfterSeconds?: number;
	  };

/** What a sign-in attempt needs to know of its request. */
export interface SignInAttempt {
	request: Request;
	token: string;
	/** The client's address (CF-Connecting-IP), the rate limit's key. */
	client: string;
	nowMs: number;
}

/**
 * Checks a submitted admin token: refused while the client is over its failure limit (429),
 * when the Worker has no usable ADMIN_TOKEN (503), for the development token on anything but a
 * same-origin page of localhost reached from this machine (the admin API's rule, with the
 * page's Origin standing in for its local-tool header: a browser sets Origin itself, so a page
 * of another site — even one DNS rebinding points at localhost — cannot claim localhost), and
 * when wrong (401, counted).
 *
 * @example
 * const outcome = await checkSignIn(env, { request, token, client: "127.0.0.1", nowMs: Date.now() });
 */
export async function checkSignIn(
	env: Pick<Env, "DB" | "ADMIN_TOKEN">,
	attempt: SignInAttempt,
): Promise<SignInOutcome> {
	const windowStart = attempt.nowMs - (attempt.nowMs % WINDOW_MS);
	const row = await env.DB.prepare(
		"SELECT failures FROM console_sign_in_failures WHERE client = ?1 AND window_start = ?2",
	)
		.bind(attempt.client, windowStart)
		.first<{ failures: number }>();
	if ((row?.failures ?? 0) >= MAX_FAILURES)
		return {
			ok: false,
			status: 429,
			message: "Too many failed sign-ins from this address; try again later",
			retryAfterSeconds: Math.ceil(
				(windowStart + WINDOW_MS - attempt.nowMs) / 1000,
			),
		};
	const expected = env.ADMIN_TOKEN;
	if (!expected || expected.length < MIN_ADMIN_TOKEN_LENGTH)
		return {
			ok: false,
			status: 503,
			message: `The console needs an ADMIN_TOKEN secret of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
		};
	if (expected === DEV_ADMIN_TOKEN) {
		const refusal = devTokenRefusal(attempt.request);
		if (refusal?.status === 503)
			return {
				ok: false,
				status: 503,
				message: `The development ADMIN_TOKEN ${refusal.reason}; set a secret with \`wrangler secret put ADMIN_TOKEN\``,
			};
		if (!sameOrigin(attempt.request))
			return {
				ok: false,
				status: 403,
				message:
					"The development ADMIN_TOKEN works only from the console's own page on localhost",
			};
	}
	if (await sameToken(attempt.token, expected)) return { ok: true };
	await env.DB.prepare(
		`INSERT INTO console_sign_in_failures (client, window_start, failures) VALUES (?1, ?2, 1)
		 ON CONFLICT (client, window_start) DO UPDATE SET failures = failures + 1`,
	)
		.bind(attempt.client, windowStart)
		.run();
	// Old windows are never read again: clear them as failures are written.
	await env.DB.prepare(
		"DELETE FROM console_sign_in_failures WHERE window_start < ?1",
	)
		.bind(windowStart - WINDOW_MS)
		.run();
	return { ok: false, status: 401, message: "Wrong admin token" };
}

/**
 * Whether a request was sent by a page of the origin it is addressed to: its Origin header
 * (which page script cannot set) equals the request's own origin.
 *
 * @example
 * sameOrigin(new Request("http://localhost:8787/console/x", { headers: { Origin: "http://localhost:8787" } })) // true
 */
export function sameOrigin(request: Request): boolean {
	const origin = request.headers.get("Origin");
	return origin !== null && origin === new URL(request.url).origin;
}
