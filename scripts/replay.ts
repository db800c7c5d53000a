/**
 * Re-sends a destination's failed or dead deliveries from the delivery log, through the
 * Worker's admin API (`POST /admin/replay`, Bearer ADMIN_TOKEN), page by page. `--status
 * pending` (or `retrying`) re-sends batches whose queue message was lost, without waiting for
 * the sweeper.
 *
 *   npm run replay -- --destination hooks                       # local `npm run dev`
 *   npm run replay -- --destination hooks --status dead --since 2026-11-01T00:00:00Z
 *   npm run replay -- --destination hooks --status pending,retrying
 *   ADMIN_TOKEN=… npm run replay -- --destination hooks --url https://collector.example.com
 *
 * The token comes from --token, else $ADMIN_TOKEN, else .dev.vars (local development).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./wrangler";

/** What `POST /admin/replay` takes (ReplayRequestSchema in delivery/replay.ts). */
const STATUSES = ["failed", "dead", "pending", "retrying"] as const;
type Status = (typeof STATUSES)[number];

const USAGE =
	"usage: npm run replay -- --destination <id> [--since <iso>] [--status failed|dead|pending|retrying] [--url <collector>] [--token <admin token>]";

interface Page {
	success: boolean;
	replayed?: number;
	missing?: number;
	next?: string;
	reenabled?: boolean;
	message?: string;
}

/**
 * The admin token: the flag, the environment, or .dev.vars.
 *
 * @example
 * adminToken(undefined) // "dev-admin-token" from .dev.vars
 */
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
 * Replays every page and returns the totals.
 *
 * @example
 * await replayAll({ url: "http://localhost:8787", token, destination: "hooks", status: ["dead"] })
 */
export async function replayAll(options: {
	url: string;
	token: string;
	destination: string;
	status?: Status[];
	since?: string;
}): Promise<{ replayed: number; missing: number; reenabled: boolean }> {
	const totals = { replayed: 0, missing: 0, reenabled: false };
	let after: number | string = 0;
	// Pages of 1,000 rows; a bound on pages keeps a runaway loop from spinning forever.
	for (let page = 0; page < 10_000; page++) {
		const response = await fetch(new URL("/admin/replay", options.url), {
			method: "POST",
			headers: adminHeaders(options.token),
			body: JSON.stringify({
				destination: options.destination,
				status: options.status,
				since: options.since,
				after,
			}),
		});
		const body = (await response.json()) as Page;
		if (!response.ok || !body.success)
			throw new Error(
				`replay failed (HTTP ${response.status}): ${body.message ?? JSON.stringify(body)}`,
			);
		totals.replayed += body.replayed ?? 0;
		totals.missing += body.missing ?? 0;
		totals.reenabled ||= body.reenabled === true;
		if (body.next === undefined) return totals;
		after = body.next;
	}
	throw new Error("replay stopped after 10,000 pages");
}

/** Prints a message (to stderr unless the exit code is 0) and returns the exit code. */
function say(message: string, code: number): number {
	(code === 0 ? console.log : console.error)(message);
	return code;
}

async function main(): Promise<number> {
	const { values } = parseArgs({
		options: {
			destination: { type: "string" },
			since: { type: "string" },
			status: { type: "string", multiple: true },
			url: { type: "string", default: "http://localhost:8787" },
			token: { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) return say(USAGE, 0);
	if (!values.destination) return say(USAGE, 2);
	const statuses = values.status?.flatMap((s) => s.split(","));
	if (statuses?.some((s) => !(STATUSES as readonly string[]).includes(s)))
		return say(`--status takes ${STATUSES.join(", ")}.\n${USAGE}`, 2);
	const token = adminToken(values.token);
	if (!token)
		return say(
			"No admin token: pass --token, set ADMIN_TOKEN, or run `npm run dev` once to create .dev.vars.",
			2,
		);
	const totals = await replayAll({
		url: values.url,
		token,
		destination: values.destination,
		status: statuses as Status[] | undefined,
		since: values.since,
	});
	console.log(
		`Queued ${totals.replayed} deliveries to '${values.destination}' again` +
			(totals.missing > 0
				? `; ${totals.missing} could not be: the log no longer has their event or deletion record`
				: "") +
			(totals.reenabled
				? "; the destination, switched off by a 410, is on again"
				: "") +
			".",
	);
	return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
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
