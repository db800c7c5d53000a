import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import { ROOT } from "../wrangler";
import { sqlString } from "./duckdb";
import {
	dropLegacy,
	legacyIds,
	type MigrationBucket,
	type MigrationRun,
	migrateLegacy,
} from "./migrate";

/** A parsed `migrate` command line. */
export interface MigrateCommand {
	remote: boolean;
	drop: boolean;
	persistTo: string;
	configPath: string;
	/** Runs the count check's query over the events of record (the query command's path). */
	query: (
		setup: readonly string[],
		sql: string,
	) => Promise<Record<string, unknown>[]>;
}

/** What the command found and did. */
export interface MigrateReport extends MigrationRun {
	/** Legacy rows holding an event (by source and messageId), and how many of them R2 holds. */
	check: { legacy: number; found: number; duplicates: number };
	dropped: boolean;
}

/**
 * Runs the migration against the local state of `npm run dev` (or, with `remote`, the
 * deployment's D1 and R2 through wrangler's remote bindings), then the count check, then —
 * with `drop`, and only when every legacy messageId is found once in R2 — drops the table.
 *
 * @example
 * await runMigrate({ remote: false, drop: false, persistTo: ".wrangler/state", configPath: "wrangler.toml", query })
 * // { legacyRows: 20845, moved: 20845, …, check: { legacy: 20845, found: 20845, duplicates: 0 }, dropped: false }
 */
export async function runMigrate(
	command: MigrateCommand,
): Promise<MigrateReport> {
	const { getPlatformProxy } = await import("wrangler");
	const scratch = mkdtempSync(join(tmpdir(), "conduit-migrate-"));
	const configPath = command.remote
		? remoteConfig(command.configPath)
		: command.configPath;
	try {
		const proxy = await getPlatformProxy<{
			DB: D1Database;
			RECORDS: MigrationBucket;
		}>({
			configPath,
			persist: { path: join(command.persistTo, "v3") },
			remoteBindings: command.remote,
		});
		let run: MigrationRun;
		let ids: [string, string][];
		try {
			run = await migrateLegacy(proxy.env.DB, proxy.env.RECORDS);
			ids = await legacyIds(proxy.env.DB);
		} finally {
			await proxy.dispose();
		}
		const idsFile = join(scratch, "legacy.ndjson");
		writeFileSync(
			idsFile,
			ids.map(([s, m]) => JSON.stringify({ s, m })).join("\n"),
		);
		const [row] = await command.query(
			ids.length > 0
				? [
						`CREATE TABLE legacy AS SELECT s, m FROM read_json(${sqlString(idsFile)}, format = 'newline_delimited', columns = {s: 'VARCHAR', m: 'VARCHAR'})`,
					]
				: ["CREATE TABLE legacy (s VARCHAR, m VARCHAR)"],
			`SELECT (SELECT count(*) FROM legacy) AS legacy,
  (SELECT count(*) FROM legacy AS l SEMI JOIN events AS e ON e.sourceId = l.s AND e.messageId = l.m) AS found,
  (SELECT count(*) - count(DISTINCT (sourceId, messageId)) FROM events) AS duplicates`,
		);
		const check = {
			legacy: Number(row?.legacy ?? 0),
			found: Number(row?.found ?? 0),
			duplicates: Number(row?.duplicates ?? 0),
		};
		let dropped = false;
		if (command.drop) {
			if (check.found !== check.legacy || check.duplicates !== 0)
				throw new Error(
					`not dropping events_legacy: ${check.found} of ${check.legacy} messageIds found in R2, ${check.duplicates} duplicates`,
				);
			const again = await getPlatformProxy<{ DB: D1Database }>({
				configPath,
				persist: { path: join(command.persistTo, "v3") },
				remoteBindings: command.remote,
			});
			try {
				await dropLegacy(again.env.DB);
				dropped = true;
			} finally {
				await again.dispose();
			}
		}
		return { ...run, check, dropped };
	} finally {
		rmSync(scratch, { recursive: true, force: true });
		if (configPath !== command.configPath) rmSync(configPath, { force: true });
	}
}

/**
 * A copy of wrangler.toml, beside it (its relative paths still resolve), whose D1 and R2
 * bindings are marked `remote = true`: wrangler's platform proxy then reaches the deployment's.
 */
function remoteConfig(configPath: string): string {
	const toml = parse(readFileSync(configPath, "utf8")) as Record<
		string,
		unknown
	>;
	for (const list of ["d1_databases", "r2_buckets"])
		for (const binding of (toml[list] as Record<string, unknown>[]) ?? [])
			binding.remote = true;
	const path = join(ROOT, `.wrangler-migrate-${process.pid}.toml`);
	writeFileSync(path, stringify(toml));
	return path;
}
