/**
 * What the command-line tools of the admin API (`npm run replay`, `parked`, `backfill`) share:
 * the `--url`/`--token` options, the token lookup, the call itself and how a tool ends.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./wrangler";

/** Where and as whom a tool calls the admin API. */
export interface Connection {
	url: string;
	token: string;
}

/**
 * The `parseArgs` options every admin tool takes: the collector's URL and the admin token.
 *
 * @example
 * parseArgs({ args, options: { ...CONNECTION_OPTIONS, wait: { type: "string" } } })
 */
export const CONNECTION_OPTIONS = {
	url: { type: "string", default: "http://localhost:8787" },
	token: { type: "string" },
} as const;

/** What a tool prints when {@link adminToken} finds no token. */
export const NO_TOKEN =
	"No admin token: pass --token, set ADMIN_TOKEN, or run `npm run dev` once to create .dev.vars.";

/**
 * The headers of an admin API call from a command-line tool: the bearer token, and
 * `Sec-Conduit-Local: 1`, which says "a local tool, not a web page" so the development token
 * works against `npm run dev` (admin-auth.ts; production ignores it).
 *
 * @example
 * adminHeaders("t0k3n") // { authorization: "Bearer t0k3n", "content-type": "application/json", "sec-conduit-local": "1" }
 */
export function adminHeaders(token: string): Record<string, string> {
	return {
		authorization: `Bearer ${token}`,
		"content-type": "application/json",
		"sec-conduit-local": "1",
	};
}

/**
 * The admin token: the flag, the environment, or .dev.vars.
 *
 * @example
 * adminToken(undefined) // "dev-admin-token" from .dev.vars
 */
export function adminToken(flag: string | undefined): string | undefined {
	if (flag) return flag;
	if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
	const file = join(ROOT, ".dev.vars");
	if (!existsSync(file)) return undefined;
	const line = readFileSync(file, "utf8")
		.split("\n")
		.find((l) => l.startsWith("ADMIN_TOKEN="));
	return line?.slice("ADMIN_TOKEN=".length).trim().replace(/^"|"$/g, "");
}

/**
 * Calls the admin API and returns its JSON answer, or throws with the status, the error code
 * and the message of a refusal (the whole answer when it has no message).
 *
 * @example
 * await adminCall(connection, "GET", "/admin/parked?kind=event")
 * // throws "POST /admin/backfills failed, HTTP 404: unknown_destination — No destination 'nope' in the config"
 */
export async function adminCall<T>(
	connection: Connection,
	method: "GET" | "POST" | "DELETE",
	path: string,
	body?: unknown,
): Promise<T> {
	const response = await fetch(new URL(path, connection.url), {
		method,
		headers: adminHeaders(connection.token),
		...(body !== undefined && { body: JSON.stringify(body) }),
	});
	const answer = (await response.json()) as T & {
		success?: boolean;
		error?: string;
		message?: string;
	};
	if (!response.ok || answer.success !== true)
		throw new Error(
			`${method} ${path} failed, HTTP ${response.status}: ${
				answer.message === undefined
					? JSON.stringify(answer)
					: `${answer.error ? `${answer.error} — ` : ""}${answer.message}`
			}`,
		);
	return answer;
}

/**
 * Prints a message (to stderr unless the exit code is 0) and returns the exit code.
 *
 * @example
 * if (!token) return say(NO_TOKEN, 2);
 */
export function say(message: string, code: number): number {
	(code === 0 ? console.log : console.error)(message);
	return code;
}

/**
 * Runs a tool's `main` when the file is the one node started: its result is the exit code, a
 * thrown error is printed and exits 1.
 *
 * @example
 * runWhenStarted(import.meta.url, () => main(process.argv.slice(2)));
 */
export function runWhenStarted(
	moduleUrl: string,
	main: () => Promise<number>,
): void {
	if (moduleUrl !== `file://${process.argv[1]}`) return;
	main().then(
		(code) => {
			process.exitCode = code;
		},
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : String(error));
			process.exitCode = 1;
		},
	);
}
