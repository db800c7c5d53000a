/**
 * What already exists on the Cloudflare account, read with wrangler's own list commands (read
 * only), or assumed for an offline dry run. Must pass: a list that fails for any other reason
 * than "not found" stops the deploy before anything is created.
 */
import { stripVTControlCharacters } from "node:util";
import type { Runner, WranglerResult } from "../wrangler";
import type { Resources } from "./resources";

/** Runs a wrangler command, the deploy's `--config` added. */
export type Run = Runner;

/** The Worker's secrets by name, as `wrangler secret list` reports them. */
export interface Secrets {
	/** False before the first deploy (and before any `wrangler secret put`). */
	workerExists: boolean;
	names: Set<string>;
}

export interface AccountState {
	/** False for an offline dry run: nothing was read, the account is assumed empty. */
	listed: boolean;
	queues: Set<string>;
	buckets: Set<string>;
	databases: { name: string; uuid: string }[];
	namespaces: { title: string; id: string }[];
	/** Undefined when not read (offline dry run). */
	secrets?: Secrets;
	/** Migrations not yet applied, by D1 binding, for the databases that were asked. */
	pending: Map<string, string[]>;
}

/**
 * Reads the account: each queue by name (`queues list` is paged and a table), then the R2
 * bucket, D1 database and KV namespace lists, the Worker's secrets and, when `migrations` is
 * set, each existing database's unapplied migrations (wrangler creates its empty
 * `d1_migrations` table when a database has none, so `--check` leaves that out).
 *
 * @throws Error with wrangler's own message when a command fails (not logged in, no network…).
 * @example
 * observe(resourcesFrom(toml), run, { migrations: true }).queues // Set { "conduit-events" }
 */
export function observe(
	resources: Resources,
	run: Run,
	options: { migrations: boolean },
): AccountState {
	const queues = new Set(
		resources.queues.filter((name) => queueExists(run, name)),
	);
	const buckets = new Set<string>();
	const jurisdictions = new Set(
		resources.buckets.map((bucket) => bucket.jurisdiction),
	);
	for (const jurisdiction of jurisdictions) {
		const args = ["r2", "bucket", "list"];
		if (jurisdiction) args.push("--jurisdiction", jurisdiction);
		for (const name of bucketNames(must(run, args).stdout)) buckets.add(name);
	}
	const databases =
		resources.databases.length > 0
			? json<{ name: string; uuid: string }[]>(
					must(run, ["d1", "list", "--json"]).stdout,
					"d1 list",
				)
			: [];
	const namespaces =
		resources.namespaces.length > 0
			? json<{ title: string; id: string }[]>(
					must(run, ["kv", "namespace", "list"]).stdout,
					"kv namespace list",
				)
			: [];
	const pending = new Map<string, string[]>();
	if (options.migrations) {
		for (const database of resources.databases) {
			const exists = databases.some(
				(db) => db.uuid === database.id || db.name === database.name,
			);
			if (exists)
				pending.set(database.binding, pendingMigrations(run, database.binding));
		}
	}
	return {
		listed: true,
		queues,
		buckets,
		databases,
		namespaces,
		secrets: secrets(run),
		pending,
	};
}

/**
 * The state an offline dry run plans against: an empty account, except for the D1 databases
 * and KV namespaces whose ids wrangler.toml already holds (taken to exist, not checked).
 *
 * @example
 * assumeEmpty(resources).listed // false
 */
export function assumeEmpty(resources: Resources): AccountState {
	return {
		listed: false,
		queues: new Set(),
		buckets: new Set(),
		databases: resources.databases.flatMap((db) =>
			db.id ? [{ name: db.name, uuid: db.id }] : [],
		),
		namespaces: resources.namespaces.flatMap((ns) =>
			ns.id ? [{ title: ns.title, id: ns.id }] : [],
		),
		pending: new Map(),
	};
}

/**
 * The unapplied migrations of a remote database, from `wrangler d1 migrations list`.
 *
 * @example
 * pendingMigrations(run, "DB") // ["0006_parked.sql"]
 */
export function pendingMigrations(run: Run, binding: string): string[] {
	const { stdout } = must(run, [
		"d1",
		"migrations",
		"list",
		binding,
		"--remote",
	]);
	const [, table = ""] = stdout.split("Migrations to be applied:");
	return [...table.matchAll(/[\w.-]+\.sql/g)].map((match) => match[0]);
}

function queueExists(run: Run, name: string): boolean {
	const result = run(["queues", "info", name]);
	if (result.status === 0) return true;
	// wrangler's answer for a queue the account does not have (its exit code is 1 either way).
	if (
		`${result.stderr}${result.stdout}`.includes(
			`Queue "${name}" does not exist`,
		)
	)
		return false;
	throw failure(["queues", "info", name], result);
}

/** `r2 bucket list` prints `name:` / `creation_date:` pairs, one blank-line-separated block each. */
function bucketNames(stdout: string): string[] {
	return [...stdout.matchAll(/^name:\s+(\S+)\s*$/gm)].map(
		(match) => match[1] ?? "",
	);
}

function secrets(run: Run): Secrets {
	const result = run(["secret", "list", "--format", "json"]);
	if (result.status === 0) {
		const list = json<{ name: string }[]>(result.stdout, "secret list");
		return { workerExists: true, names: new Set(list.map((s) => s.name)) };
	}
	// Before the first deploy there is no Worker to hold secrets yet.
	if (/Worker "[^"]+"(?: \(env: [^)]*\))? not found/.test(result.stderr))
		return { workerExists: false, names: new Set() };
	throw failure(["secret", "list"], result);
}

function json<T>(text: string, command: string): T {
	try {
		return JSON.parse(text) as T;
	} catch {
		throw new Error(`wrangler ${command} did not print JSON:\n${text}`);
	}
}

/**
 * Runs a command that must succeed.
 *
 * @throws Error with the command and wrangler's output.
 * @example
 * must(run, ["d1", "list", "--json"]).stdout // "[…]"
 */
export function must(
	run: Run,
	args: string[],
	options?: { stream?: boolean },
): WranglerResult {
	const result = run(args, options);
	if (result.status !== 0) throw failure(args, result);
	return result;
}

function failure(args: string[], result: WranglerResult): Error {
	// wrangler colours its errors even with FORCE_COLOR=0; the message is relayed as plain text.
	const output = stripVTControlCharacters(
		`${result.stderr}${result.stdout}`,
	).trim();
	return new Error(
		`npx wrangler ${args.join(" ")} failed (exit ${result.status})${output ? `:\n${output}` : "; its output is above."}`,
	);
}
