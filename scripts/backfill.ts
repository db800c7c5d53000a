/**
 * Backfills a destination from the events of record: starts a job through the Worker's admin
 * API (`POST /admin/backfills`, Bearer ADMIN_TOKEN) and prints its progress until it ends.
 *
 *   npm run backfill -- hooks --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z
 *   npm run backfill -- hooks --from … --to … --sources web,server
 *   ADMIN_TOKEN=… npm run backfill -- hooks --from … --to … --url https://collector.example.com
 *   npm run backfill -- --status 4        # the progress of job 4, without starting one
 *
 * The minute cron advances a job; under `npm run dev` crons fire only on request:
 * `curl "http://localhost:8787/cdn-cgi/handler/scheduled?cron=*+*+*+*+*"`.
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

const USAGE =
	"usage: npm run backfill -- <destination> --from <iso> --to <iso> [--sources a,b] [--url <collector>] [--token <admin token>] [--wait <seconds>]\n" +
	"       npm run backfill -- --status <job id> [--url …] [--token …]";

/** A job as `GET /admin/backfills/:id` shows it. */
export interface BackfillJob {
	id: number;
	status: "running" | "done" | "failed" | "cancelled";
	destinationId: string | null;
	from: string;
	to: string;
	steps: number;
	objectsScanned: number;
	eventsRead: number;
	eventsSent: number;
	error: string | null;
	position: { source: string; hour: string } | null;
}

/**
 * One line of progress.
 *
 * @example
 * progressLine(job) // "backfill 4 running: 12 objects, 3400 events read, 3100 sent (at web 2026-11-01T08:00:00.000Z)"
 */
export function progressLine(job: BackfillJob): string {
	return (
		`backfill ${job.id} ${job.status}: ${job.objectsScanned} objects, ` +
		`${job.eventsRead} events read, ${job.eventsSent} sent` +
		(job.position ? ` (at ${job.position.source} ${job.position.hour})` : "") +
		(job.error ? ` — last error: ${job.error}` : "")
	);
}

async function call(
	connection: Connection,
	method: "GET" | "POST",
	path: string,
	body?: unknown,
): Promise<BackfillJob> {
	const answer = await adminCall<{ backfill: BackfillJob }>(
		connection,
		method,
		path,
		body,
	);
	return answer.backfill;
}

/**
 * Starts a destination backfill, or follows job `id`, and polls it every `intervalMs` until it
 * ends or `waitMs` passed; prints a line whenever its progress changed. Returns the last look.
 *
 * @example
 * await followBackfill({ url, token, start: { destination: "hooks", from, to } }, console.log)
 */
export async function followBackfill(
	options: {
		url: string;
		token: string;
		start?: {
			destination: string;
			from: string;
			to: string;
			sources?: string[];
		};
		id?: number;
		intervalMs?: number;
		waitMs?: number;
	},
	print: (line: string) => void,
): Promise<BackfillJob> {
	const intervalMs = options.intervalMs ?? 2000;
	const deadline = Date.now() + (options.waitMs ?? 3_600_000);
	let job = options.start
		? await call(options, "POST", "/admin/backfills", options.start)
		: await call(options, "GET", `/admin/backfills/${options.id}`);
	let last = progressLine(job);
	print(last);
	while (job.status === "running" && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
		job = await call(options, "GET", `/admin/backfills/${job.id}`);
		const line = progressLine(job);
		if (line !== last) print(line);
		last = line;
	}
	return job;
}

/**
 * The command: parses the arguments, runs {@link followBackfill} and returns the exit code (0
 * done, 1 failed or cancelled or an API error, 2 bad usage, 3 still running when --wait ran out).
 *
 * @example
 * await main(["hooks", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-02T00:00:00Z"]) // 0
 */
export async function main(
	args: string[],
	print: (line: string) => void = console.log,
): Promise<number> {
	const { values, positionals } = parseArgs({
		args,
		allowPositionals: true,
		options: {
			from: { type: "string" },
			to: { type: "string" },
			sources: { type: "string" },
			status: { type: "string" },
			...CONNECTION_OPTIONS,
			wait: { type: "string", default: "3600" },
			interval: { type: "string", default: "2" },
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) return say(USAGE, 0);
	const destination = positionals[0];
	const id = values.status === undefined ? undefined : Number(values.status);
	if (id !== undefined && !(Number.isInteger(id) && id > 0))
		return say(`--status takes a job id.\n${USAGE}`, 2);
	if (id === undefined && (!destination || !values.from || !values.to))
		return say(USAGE, 2);
	const waitMs = Number(values.wait) * 1000;
	const intervalMs = Number(values.interval) * 1000;
	if (!(waitMs >= 0) || !(intervalMs > 0))
		return say(`--wait and --interval take seconds.\n${USAGE}`, 2);
	const token = adminToken(values.token);
	if (!token) return say(NO_TOKEN, 2);
	const job = await followBackfill(
		{
			url: values.url,
			token,
			...(id === undefined && {
				start: {
					destination: destination as string,
					from: values.from as string,
					to: values.to as string,
					...(values.sources && { sources: values.sources.split(",") }),
				},
			}),
			...(id !== undefined && { id }),
			intervalMs,
			waitMs,
		},
		print,
	);
	if (job.status === "done") return 0;
	if (job.status === "running") {
		print(
			`backfill ${job.id} is still running; follow it with: npm run backfill -- --status ${job.id}`,
		);
		return 3;
	}
	return 1;
}

runWhenStarted(import.meta.url, () => main(process.argv.slice(2)));
