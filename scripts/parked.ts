/**
 * Lists, shows and replays what the pipeline parked (events storage refused or the dead-letter
 * queues received, deliveries a destination gave up on), through the Worker's admin API
 * (`/admin/parked`, Bearer ADMIN_TOKEN).
 *
 *   npm run parked -- list                                 # local `npm run dev`
 *   npm run parked -- list --kind event --reason dead_lettered
 *   npm run parked -- show 42
 *   npm run parked -- replay 42 43
 *   npm run parked -- replay --kind delivery               # every waiting delivery, page by page
 *   ADMIN_TOKEN=… npm run parked -- list --url https://collector.example.com
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

const USAGE = `usage: npm run parked -- list [--kind event|delivery] [--reason <reason>] [--after <id>] [--limit <n>]
       npm run parked -- show <id>
       npm run parked -- replay <id> [<id> …]
       npm run parked -- replay --kind event|delivery [--reason <reason>]
options: --url <collector> (default http://localhost:8787), --token <admin token>, --json`;

/** A parked row as the list answers it. */
export interface ParkedSummary {
	id: number;
	kind: string;
	sourceId: string;
	messageId: string | null;
	destinationId: string | null;
	reason: string;
	error: string;
	parkedAt: string;
	payloadBytes: number;
}

/** Totals of a replay, over every page it took. */
export interface ReplayTotals {
	replayed: number;
	refused: { id: number; error: string }[];
	missing: number[];
}

/**
 * Replays rows by id, or every waiting row of a kind (and reason) page by page, and adds up
 * what each call did.
 *
 * @example
 * await replayParked({ url, token }, { ids: [42] }) // { replayed: 1, refused: [], missing: [] }
 */
export async function replayParked(
	connection: Connection,
	request: { ids: number[] } | { kind: string; reason?: string },
): Promise<ReplayTotals> {
	const totals: ReplayTotals = { replayed: 0, refused: [], missing: [] };
	let after = 0;
	// A bound on pages keeps a runaway loop from spinning forever (500 rows a page).
	for (let page = 0; page < 10_000; page++) {
		const answer = await adminCall<ReplayTotals & { next?: number }>(
			connection,
			"POST",
			"/admin/parked/replay",
			"ids" in request ? request : { ...request, after },
		);
		totals.replayed += answer.replayed;
		totals.refused.push(...answer.refused);
		totals.missing.push(...answer.missing);
		if (answer.next === undefined) return totals;
		after = answer.next;
	}
	throw new Error("replay stopped after 10,000 pages");
}

/** One line per row: id, kind, reason, source/messageId (→ destination), age and error. */
function table(rows: readonly ParkedSummary[]): string {
	if (rows.length === 0) return "Nothing parked.";
	return rows
		.map((row) => {
			const target = row.destinationId ? ` → ${row.destinationId}` : "";
			const error =
				row.error.length > 120 ? `${row.error.slice(0, 117)}…` : row.error;
			return `${row.id}\t${row.kind}\t${row.reason}\t${row.sourceId}/${row.messageId ?? "-"}${target}\t${row.parkedAt}\t${error}`;
		})
		.join("\n");
}

async function main(argv: string[]): Promise<number> {
	const { values, positionals } = parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			kind: { type: "string" },
			reason: { type: "string" },
			after: { type: "string" },
			limit: { type: "string" },
			...CONNECTION_OPTIONS,
			json: { type: "boolean", default: false },
			help: { type: "boolean", short: "h" },
		},
	});
	const [command, ...rest] = positionals;
	if (values.help) return say(USAGE, 0);
	const token = adminToken(values.token);
	if (!token) return say(NO_TOKEN, 2);
	const connection = { url: values.url, token };
	const ids = rest.map(Number);
	if (ids.some((id) => !Number.isInteger(id) || id < 1))
		return say(`Row ids are whole numbers.\n${USAGE}`, 2);

	if (command === "list" && rest.length === 0) {
		const query = new URLSearchParams();
		for (const key of ["kind", "reason", "after", "limit"] as const) {
			const value = values[key];
			if (value !== undefined) query.set(key, value);
		}
		const answer = await adminCall<{ rows: ParkedSummary[]; next?: number }>(
			connection,
			"GET",
			`/admin/parked?${query}`,
		);
		if (values.json) return say(JSON.stringify(answer, null, 2), 0);
		const more =
			answer.next === undefined
				? ""
				: `\nMore rows: npm run parked -- list --after ${answer.next}`;
		return say(`${table(answer.rows)}${more}`, 0);
	}
	if (command === "show" && ids.length === 1) {
		const { row } = await adminCall<{ row: { payload: string } }>(
			connection,
			"GET",
			`/admin/parked/${ids[0]}`,
		);
		let payload: unknown = row.payload;
		try {
			payload = JSON.parse(row.payload);
		} catch {
			// Not JSON (a malformed message): shown as the text it is.
		}
		return say(JSON.stringify({ ...row, payload }, null, 2), 0);
	}
	if (command === "replay" && (ids.length > 0 || values.kind)) {
		const totals = await replayParked(
			connection,
			ids.length > 0
				? { ids }
				: {
						kind: values.kind ?? "",
						...(values.reason && { reason: values.reason }),
					},
		);
		if (values.json) return say(JSON.stringify(totals, null, 2), 0);
		const lines = [`Replayed ${totals.replayed} row(s).`];
		for (const { id, error } of totals.refused)
			lines.push(`Still parked: ${id} (${error})`);
		if (totals.missing.length > 0)
			lines.push(`No such rows: ${totals.missing.join(", ")}`);
		return say(lines.join("\n"), 0);
	}
	return say(USAGE, 2);
}

runWhenStarted(import.meta.url, () => main(process.argv.slice(2)));
