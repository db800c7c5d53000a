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
import { parseArgs } from "node:util";
import {
	adminCall,
	adminToken,
	CONNECTION_OPTIONS,
	type Connection,
	NO_TOKEN,
	runWhenStarted,
	say,
} from "./admin-api";

/** What `POST /admin/replay` takes (ReplayRequestSchema in delivery/replay.ts). */
const STATUSES = ["failed", "dead", "pending", "retrying"] as const;
type Status = (typeof STATUSES)[number];

const USAGE =
	"usage: npm run replay -- --destination <id> [--since <iso>] [--status failed|dead|pending|retrying] [--url <collector>] [--token <admin token>]";

interface Page {
	replayed?: number;
	missing?: number;
	next?: string;
	reenabled?: boolean;
}

/**
 * Replays every page and returns the totals.
 *
 * @example
 * await replayAll({ url: "http://localhost:8787", token, destination: "hooks", status: ["dead"] })
 */
export async function replayAll(
	options: Connection & {
		destination: string;
		status?: Status[];
		since?: string;
	},
): Promise<{ replayed: number; missing: number; reenabled: boolean }> {
	const totals = { replayed: 0, missing: 0, reenabled: false };
	let after: number | string = 0;
	// Pages of 1,000 rows; a bound on pages keeps a runaway loop from spinning forever.
	for (let page = 0; page < 10_000; page++) {
		const body: Page = await adminCall<Page>(options, "POST", "/admin/replay", {
			destination: options.destination,
			status: options.status,
			since: options.since,
			after,
		});
		totals.replayed += body.replayed ?? 0;
		totals.missing += body.missing ?? 0;
		totals.reenabled ||= body.reenabled === true;
		if (body.next === undefined) return totals;
		after = body.next;
	}
	throw new Error("replay stopped after 10,000 pages");
}

async function main(): Promise<number> {
	const { values } = parseArgs({
		options: {
			destination: { type: "string" },
			since: { type: "string" },
			status: { type: "string", multiple: true },
			...CONNECTION_OPTIONS,
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) return say(USAGE, 0);
	if (!values.destination) return say(USAGE, 2);
	const statuses = values.status?.flatMap((s) => s.split(","));
	if (statuses?.some((s) => !(STATUSES as readonly string[]).includes(s)))
		return say(`--status takes ${STATUSES.join(", ")}.\n${USAGE}`, 2);
	const token = adminToken(values.token);
	if (!token) return say(NO_TOKEN, 2);
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

runWhenStarted(import.meta.url, main);
