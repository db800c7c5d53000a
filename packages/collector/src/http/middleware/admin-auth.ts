import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";
import { devTokenRefusal } from "./local-tool";

/** The token in .dev.vars.example, for `npm run dev`: accepted only from local tools (local-tool.ts). */
export const DEV_ADMIN_TOKEN = "conduit-dev-admin-token-local-only";
/** Shorter tokens are guessable; the Worker refuses to run the admin API with one. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/**
 * Guards the admin API with `Authorization: Bearer <ADMIN_TOKEN>` (the Worker secret). A
 * missing or wrong token → 401. The Worker itself refuses (503) when the secret is unset,
 * shorter than 32 characters, or the documented development token anywhere but a connection
 * from this machine, so a deployment can never run with a known token; and it refuses (403) the
 * development token to a request that does not prove it comes from a local tool rather than a
 * web page (see `devTokenRefusal`). Tokens are compared as SHA-256 digests with
 * `crypto.subtle.timingSafeEqual`, so the comparison takes the same time however much matches.
 *
 * @example
 * profiles.use(adminAuth());
 * // curl -H "Authorization: Bearer $ADMIN_TOKEN" http://localhost:8787/v1/profiles/prof_…
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
	return async function adminAuth(c, next) {
		const expected = c.env.ADMIN_TOKEN;
		if (!expected || expected.length < MIN_ADMIN_TOKEN_LENGTH)
			throw unavailable(
				`The admin API needs an ADMIN_TOKEN secret of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
			);
		const refusal =
			expected === DEV_ADMIN_TOKEN ? devTokenRefusal(c.req.raw) : undefined;
		if (refusal?.status === 503)
			throw unavailable(
				`The development ADMIN_TOKEN ${refusal.reason}; set a secret with \`wrangler secret put ADMIN_TOKEN\``,
			);
		if (refusal)
			throw new ApiError(
				403,
				"local_tool_required",
				`The development ADMIN_TOKEN ${refusal.reason}`,
			);
		const match = /^Bearer\s+(\S+)\s*$/i.exec(
			c.req.header("authorization") ?? "",
		);
		if (!match?.[1])
			throw unauthorized(
				"Send the admin token as 'Authorization: Bearer <token>'",
			);
		if (!(await sameSecret(match[1], expected)))
			throw unauthorized("Wrong admin token");
		await next();
	};
}

const encoder = new TextEncoder();

/** Compares in constant time: both sides are hashed first, so lengths never differ. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all(
		[given, expected].map((s) =>
			crypto.subtle.digest("SHA-256", encoder.encode(s)),
		),
	);
	return crypto.subtle.timingSafeEqual(a as ArrayBuffer, b as ArrayBuffer);
}

function unauthorized(message: string) {
	return new ApiError(401, "unauthorized", message, {
		"WWW-Authenticate": 'Bearer realm="conduit-admin"',
	});
}

function unavailable(message: string) {
	return new ApiError(503, "admin_not_configured", message);
}
