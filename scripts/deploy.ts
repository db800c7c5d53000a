/**
 * One-command deploy: creates on the Cloudflare account whatever wrangler.toml binds and the
 * account lacks, applies the remote D1 migrations, deploys the Worker and pushes the production
 * config. Idempotent: it lists what exists first, so a second run creates nothing, applies
 * nothing and pushes nothing (it deploys the Worker again).
 *
 *   npm run deploy                                  # config/production.json
 *   npm run deploy -- --config config/eu.json       # another production config
 *   npm run deploy -- --dry-run                     # the plan, offline: Cloudflare is not called
 *   npm run deploy -- --check                       # the plan against the account, read only
 *
 * Why this script creates resources and writes their ids into wrangler.toml itself, although
 * wrangler 4.155's `deploy` provisions missing D1 databases, KV namespaces, R2 buckets and
 * producer queues when a binding has no id (its hidden --x-provision and --x-auto-create flags,
 * both on by default):
 * (1) it writes the new ids back only in an interactive terminal, and never into a TOML file
 *     with comments ("cannot patch .toml config if comments are present"), which ours has; a
 *     later deploy then finds its namespaces through the deployed Worker's current bindings, so
 *     a deleted or renamed Worker silently gets new, empty ones;
 * (2) it creates neither dead-letter queues nor queues that only a consumer names;
 * (3) it creates the database during the deploy, so the migrations could only run once the new
 *     code is already live.
 * So each resource is created here under the name wrangler would give it (a namespace an
 * earlier plain `wrangler deploy` provisioned is found and kept), `database_id` and the KV `id`s
 * are written into wrangler.toml before deploying, and `wrangler deploy` provisions nothing:
 * the file says exactly what the Worker is bound to. Commit those lines in your deployment's
 * copy of the repository.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { assumeEmpty, observe, type Run } from "./deploy/account";
import { applyPlan } from "./deploy/apply";
import { buildPlan, renderPlan } from "./deploy/plan";
import { checkConfig, workerSecrets } from "./deploy/production-config";
import { type Resources, resourcesFrom } from "./deploy/resources";
import { ROOT, type Runner, runWrangler } from "./wrangler";

const USAGE = `usage: npm run deploy -- [--config <file>] [--dry-run | --check] [--wrangler-config <file>]

  --config <file>           the production config to push (default config/production.json)
  --dry-run                 print the plan without calling Cloudflare (works offline)
  --check                   print the plan against the account: list commands only, no change
  --wrangler-config <file>  another wrangler config than wrangler.toml (ids are written there)`;

/**
 * Runs the deploy with command-line arguments and returns the process exit code: 0 done (or a
 * plan printed with nothing in the way), 1 stopped (a missing secret, an invalid config…) or
 * failed, 2 bad arguments.
 *
 * `runner` runs each wrangler command (the tests pass a stand-in account).
 *
 * @example
 * process.exitCode = deploy(["--dry-run"], console.log)
 */
export function deploy(
	argv: string[],
	log: (line: string) => void,
	runner: Runner = runWrangler,
): number {
	const { values } = parseArgs({
		args: argv,
		options: {
			config: { type: "string", default: "config/production.json" },
			"dry-run": { type: "boolean", default: false },
			check: { type: "boolean", default: false },
			"wrangler-config": { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) {
		log(USAGE);
		return 0;
	}
	if (values["dry-run"] && values.check) {
		log(`Choose one of --dry-run and --check.\n${USAGE}`);
		return 2;
	}
	const mode = values["dry-run"] ? "dry-run" : values.check ? "check" : "run";
	const wranglerToml = resolve(
		ROOT,
		values["wrangler-config"] ?? "wrangler.toml",
	);
	// Every wrangler command reads the same file the ids are written into.
	const configFlags = values["wrangler-config"]
		? ["--config", wranglerToml]
		: [];
	const run: Run = (args, options) =>
		runner([...args, ...configFlags], options);
	const show = (args: string[]) =>
		["npx wrangler", ...args, ...configFlags].join(" ");

	const resources = resourcesFrom(readFileSync(wranglerToml, "utf8"));
	const config = checkConfig(resolve(ROOT, values.config));
	const state =
		mode === "dry-run"
			? assumeEmpty(resources)
			: observe(resources, run, { migrations: mode === "run" });
	const plan = buildPlan({
		resources,
		state,
		mode,
		config,
		secrets: [
			...workerSecrets().map((name): [string, string] => [
				name,
				"the Worker (.dev.vars.example)",
			]),
			...config.secrets.map((name): [string, string] => [name, config.file]),
		],
		migrations: migrationFiles(resources, dirname(wranglerToml)),
		show,
	});
	log(renderPlan(plan, show));
	if (plan.problems.length > 0) return 1;
	if (mode !== "run") return 0;

	log("");
	applyPlan(plan, { run, wranglerToml, log });
	log(`\nDeployed ${resources.worker}.`);
	return 0;
}

/** Each D1 binding's migration files, in the order wrangler applies them (by name). */
function migrationFiles(
	resources: Resources,
	base: string,
): Map<string, string[]> {
	const files = new Map<string, string[]>();
	for (const database of resources.databases) {
		const dir = resolve(base, database.migrationsDir);
		if (!existsSync(dir)) continue;
		files.set(
			database.binding,
			readdirSync(dir)
				.filter((name) => name.endsWith(".sql"))
				.sort(),
		);
	}
	return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	try {
		process.exitCode = deploy(process.argv.slice(2), console.log);
	} catch (error) {
		console.error(error instanceof Error ? error.message : String(error));
		process.exitCode = 1;
	}
}
