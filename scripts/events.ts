/**
 * Queries the events of record (Parquet objects in R2, packages/collector/src/records/) with
 * DuckDB, as a table named `events`: messageId, sourceId, type, event, userId, anonymousId,
 * profileId, timestamp, receivedAt (TIMESTAMPTZ, UTC) and payload (JSON: the rest of the event).
 *
 *   npm run --silent events -- query "SELECT count(*) AS n FROM events"          # local npm run dev
 *   npm run --silent events -- query --json "SELECT type, count(*) AS n FROM events GROUP BY type"
 *   npm run --silent events -- query --local --persist-to /tmp/state "…"        # another local state
 *   R2_ACCOUNT_ID=… R2_ACCESS_KEY_ID=… R2_SECRET_ACCESS_KEY=… npm run events -- query --remote "…"
 *   npm run events -- migrate [--local|--remote] [--drop]                       # D1 events → R2
 *
 * --local (the default) reads the local R2 state of `npm run dev` (wrangler's .wrangler/state)
 * through wrangler's platform proxy, offline: the objects are copied to a temporary folder and
 * read from there. --remote reads the bucket in place through R2's S3 API (DuckDB's httpfs
 * extension, downloaded by DuckDB on first use); the bucket is R2_BUCKET, else the one the
 * binding names in wrangler.toml.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "smol-toml";
import { eventsView, type Row, runQuery } from "./events/duckdb";
import { copyLocalObjects } from "./events/local";
import { runMigrate } from "./events/migrate-command";
import { remoteSetup, remoteTarget } from "./events/remote";
import { ROOT } from "./wrangler";

const USAGE = `usage: npm run --silent events -- query [--local|--remote] [--json] "<SQL>"
       npm run events -- migrate [--local|--remote] [--drop]
options: --persist-to <dir>  local state folder (default .wrangler/state, as wrangler dev)
         --binding <name>    the R2 binding of the events of record (default RECORDS)
         --prefix <prefix>   key prefix of the objects (default events/)
         --config <path>     wrangler.toml (default the repository's)
         --drop              (migrate) drop events_legacy once every row is found in R2
--remote needs R2_ACCOUNT_ID, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (and R2_BUCKET to
override the binding's bucket) in the environment; migrate --remote also a wrangler login.`;

/** A parsed command line. */
export interface QueryCommand {
	sql: string;
	remote: boolean;
	json: boolean;
	persistTo: string;
	binding: string;
	prefix: string;
	configPath: string;
	/** Set for `migrate`: move events_legacy to R2 (and drop it once checked). */
	migrate?: { drop: boolean };
}

/**
 * Parses `query [--local|--remote] [--json] … "<SQL>"`; throws an Error with the usage when it
 * is not that.
 *
 * @example
 * parseCommand(["query", "--json", "SELECT 1 AS n"]).json // true
 */
export function parseCommand(args: readonly string[]): QueryCommand {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			local: { type: "boolean", default: false },
			remote: { type: "boolean", default: false },
			json: { type: "boolean", default: false },
			"persist-to": { type: "string", default: join(ROOT, ".wrangler/state") },
			binding: { type: "string", default: "RECORDS" },
			drop: { type: "boolean", default: false },
			prefix: { type: "string", default: "events/" },
			config: { type: "string", default: join(ROOT, "wrangler.toml") },
		},
	});
	const [command, sql, ...rest] = positionals;
	if (command === "migrate" && sql === undefined) {
		if (values.local && values.remote)
			throw new Error(`--local and --remote exclude each other\n${USAGE}`);
		return {
			sql: "",
			remote: values.remote,
			json: values.json,
			persistTo: resolve(values["persist-to"]),
			binding: values.binding,
			prefix: values.prefix,
			configPath: resolve(values.config),
			migrate: { drop: values.drop },
		};
	}
	if (command !== "query" || !sql?.trim() || rest.length > 0 || values.drop)
		throw new Error(USAGE);
	if (values.local && values.remote)
		throw new Error(`--local and --remote exclude each other\n${USAGE}`);
	return {
		sql,
		remote: values.remote,
		json: values.json,
		persistTo: resolve(values["persist-to"]),
		binding: values.binding,
		prefix: values.prefix,
		configPath: resolve(values.config),
	};
}

/**
 * The bucket an R2 binding names in a wrangler.toml.
 *
 * @example
 * configuredBucket("wrangler.toml", "ARCHIVE") // "conduit-archive"
 */
export function configuredBucket(
	configPath: string,
	binding: string,
): string | undefined {
	const config = parse(readFileSync(configPath, "utf8")) as {
		r2_buckets?: { binding?: string; bucket_name?: string }[];
	};
	return config.r2_buckets?.find((b) => b.binding === binding)?.bucket_name;
}

/**
 * Runs a query command and answers its rows.
 *
 * @example
 * await query(parseCommand(["query", "SELECT count(*) AS n FROM events"])) // [{ n: 815 }]
 */
export async function query(command: QueryCommand): Promise<Row[]> {
	return queryRecords(command, [], command.sql);
}

/** Runs `sql` over the `events` view of the command's bucket, after `setup`. */
async function queryRecords(
	command: QueryCommand,
	setup: readonly string[],
	sql: string,
): Promise<Row[]> {
	if (command.remote) {
		const target = remoteTarget(
			process.env,
			configuredBucket(command.configPath, command.binding),
		);
		const { statements, glob } = remoteSetup(target, command.prefix);
		return runQuery([...statements, eventsView(glob), ...setup], sql);
	}
	const into = mkdtempSync(join(tmpdir(), "conduit-events-"));
	try {
		const copied = await copyLocalObjects(command, into);
		const glob =
			copied > 0 ? join(into, command.prefix, "**/*.parquet") : undefined;
		return await runQuery([eventsView(glob), ...setup], sql);
	} finally {
		rmSync(into, { recursive: true, force: true });
	}
}

/**
 * Rows as the command prints them: JSON (one line), or a table with nested values as JSON text.
 *
 * @example
 * formatRows([{ n: 815 }], true) // '[{"n":815}]'
 */
export function formatRows(rows: readonly Row[], json: boolean): string {
	if (json) return JSON.stringify(rows);
	if (rows.length === 0) return "(no rows)";
	const cells = rows.map((row) =>
		Object.values(row).map((v) =>
			v !== null && typeof v === "object" ? JSON.stringify(v) : String(v),
		),
	);
	const header = Object.keys(rows[0] as Row);
	const widths = header.map((name, i) =>
		Math.max(name.length, ...cells.map((row) => (row[i] ?? "").length)),
	);
	const line = (values: readonly string[]) =>
		values
			.map((v, i) => v.padEnd(widths[i] ?? 0))
			.join("  ")
			.trimEnd();
	return [
		line(header),
		line(widths.map((w) => "-".repeat(w))),
		...cells.map(line),
	].join("\n");
}

/**
 * Runs the command line and answers what it prints.
 *
 * @example
 * await run(["query", "--json", "SELECT count(*) AS n FROM events"]) // '[{"n":815}]'
 */
export async function run(args: readonly string[]): Promise<string> {
	const command = parseCommand(args);
	if (command.migrate) {
		const report = await runMigrate({
			remote: command.remote,
			drop: command.migrate.drop,
			persistTo: command.persistTo,
			configPath: command.configPath,
			query: (setup, sql) => queryRecords(command, setup, sql),
		});
		return command.json
			? JSON.stringify(report)
			: formatRows([report as unknown as Row], false);
	}
	return formatRows(await query(command), command.json);
}

if (import.meta.url === `file://${process.argv[1]}`)
	run(process.argv.slice(2)).then(
		(output) => console.log(output),
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : String(error));
			process.exitCode = 1;
		},
	);
