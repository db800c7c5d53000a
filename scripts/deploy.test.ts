import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy as runDeploy } from "./deploy";
import {
	emptyAccount,
	type FakeAccount,
	fakeWrangler,
} from "./fixtures/fake-wrangler";
import { ROOT } from "./wrangler";

// The deploy against a stand-in account (fixtures/fake-wrangler.ts) that answers every wrangler
// command — the deploy's own and the config CLI's — as wrangler does, beside a copy of the
// repository's wrangler.toml in a temporary folder.

/** Commands that change the account; everything else the deploy runs must only read. */
const MUTATING = [
	"queues create",
	"r2 bucket create",
	"d1 create",
	"kv namespace create",
	"d1 migrations apply",
	"deploy",
	"kv key put",
	"secret put",
];
const SECRETS = ["ADMIN_TOKEN", "WEBHOOK_SECRET"];

let dir: string;
let files: { toml: string; config: string };
let account: FakeAccount;

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), "conduit-deploy-"));
	files = {
		toml: join(dir, "wrangler.toml"),
		config: join(dir, "production.json"),
	};
	// The repository's wrangler.toml, comments and all, with its paths made absolute.
	const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(
		/^(\s*(?:main|migrations_dir)\s*=\s*")([^"/][^"]*)"/gm,
		`$1${ROOT}$2"`,
	);
	writeFileSync(files.toml, toml);
	// The example config with the operator's own write keys, as the docs ask.
	writeFileSync(
		files.config,
		readFileSync(join(ROOT, "config/production.example.json"), "utf8")
			.replace("wk_replace_me_web_0123456789", "wk_live_web_8c1f0e5d2a7b4c96")
			.replace(
				"wk_replace_me_backend_0123456789",
				"wk_live_backend_3e9a71d0c4f2b8a5",
			),
	);
	account = emptyAccount(SECRETS);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the deploy against `account`; its exit code, output, and the wrangler commands it ran. */
function deploy(...args: string[]) {
	const fake = fakeWrangler(account);
	const lines: string[] = [];
	const code = runDeploy(
		["--config", files.config, "--wrangler-config", files.toml, ...args],
		(line) => lines.push(line),
		fake.run,
	);
	// Every command read the temporary wrangler.toml; shown without that flag from here on.
	for (const command of fake.commands)
		expect(command.slice(-2)).toEqual(["--config", files.toml]);
	const commands = fake.commands.map((command) =>
		command.slice(0, -2).join(" "),
	);
	return {
		code,
		out: lines.join("\n"),
		commands,
		mutating: commands.filter((command) =>
			MUTATING.some((prefix) => command.startsWith(prefix)),
		),
	};
}

describe("npm run deploy", () => {
	it("creates everything on an empty account, in order: resources, ids, migrations, deploy, config", () => {
		const run = deploy();
		expect(run.code, run.out).toBe(0);
		expect(run.mutating).toEqual([
			"queues create conduit-events",
			"queues create conduit-deliveries",
			"queues create conduit-deliveries-dlq",
			"queues create conduit-events-dlq",
			"r2 bucket create conduit-events",
			"r2 bucket create conduit-archive",
			"d1 create conduit",
			"kv namespace create conduit-collector-config",
			"kv namespace create conduit-collector-identity-cache",
			"d1 migrations apply DB --remote",
			"deploy",
			`kv key put config --path ${files.config} --binding CONFIG --remote`,
		]);
		// Everything was listed, secrets included, before the first change.
		const firstChange = run.commands.indexOf(run.mutating[0] ?? "");
		expect(run.commands.slice(0, firstChange)).toEqual([
			"queues info conduit-events",
			"queues info conduit-deliveries",
			"queues info conduit-deliveries-dlq",
			"queues info conduit-events-dlq",
			"r2 bucket list",
			"d1 list --json",
			"kv namespace list",
			"secret list --format json",
		]);

		// The ids wrangler deploy needs are in wrangler.toml (the stand-in's deploy refuses a
		// binding without them), and the file's comments are still there.
		const state = account;
		const toml = readFileSync(files.toml, "utf8");
		const bindings = parse(toml) as {
			d1_databases: { database_id: string }[];
			kv_namespaces: { binding: string; id: string }[];
		};
		expect(bindings.d1_databases[0]?.database_id).toBe(
			state.databases.find((db) => db.name === "conduit")?.uuid,
		);
		expect(bindings.kv_namespaces.map((ns) => [ns.binding, ns.id])).toEqual([
			[
				"CONFIG",
				state.namespaces.find((ns) => ns.title === "conduit-collector-config")
					?.id,
			],
			[
				"IDENTITY_CACHE",
				state.namespaces.find(
					(ns) => ns.title === "conduit-collector-identity-cache",
				)?.id,
			],
		]);
		expect(toml).toContain("# Identity resolution's cache");
		expect(state.worker.deployments).toBe(1);
		expect(state.databases[0]?.applied).toContain("0001_init.sql");
		expect(
			state.namespaces.find((ns) => ns.title === "conduit-collector-config")
				?.values.config,
		).toBe(readFileSync(files.config, "utf8"));
	});

	it("changes nothing on a second run but deploying the same Worker again", () => {
		expect(deploy().code).toBe(0);
		const toml = readFileSync(files.toml, "utf8");
		const before = structuredClone(account);

		const second = deploy();
		expect(second.code, second.out).toBe(0);
		expect(second.mutating).toEqual(["deploy"]);
		expect(readFileSync(files.toml, "utf8")).toBe(toml);
		expect({ ...account, worker: undefined }).toEqual({
			...before,
			worker: undefined,
		});
		expect(account.worker.deployments).toBe(before.worker.deployments + 1);
		expect(second.out).toMatch(/conduit-events\s+exists/);
		expect(second.out).toMatch(/CONFIG: conduit-collector-config\s+exists/);
		expect(second.out).toMatch(/DB\s+current\s+all \d+ applied/);
		expect(second.out).toContain("is the config already in KV: not pushed");

		// A changed config is the one thing a third run pushes.
		const document = JSON.parse(readFileSync(files.config, "utf8"));
		document.sources[0].allowedOrigins.push("https://shop.example.com");
		writeFileSync(files.config, JSON.stringify(document));
		expect(deploy().mutating).toEqual([
			"deploy",
			`kv key put config --path ${files.config} --binding CONFIG --remote`,
		]);
	});

	it("stops before changing anything while a secret the config references is not set", () => {
		account = emptyAccount(["ADMIN_TOKEN"]);
		const run = deploy();
		expect(run.code).toBe(1);
		expect(run.mutating).toEqual([]);
		expect(run.out).toMatch(/WEBHOOK_SECRET\s+MISSING/);
		expect(run.out).toContain("Worker secrets not set: WEBHOOK_SECRET.");
		expect(run.out).toContain(
			`npx wrangler secret put WEBHOOK_SECRET --config ${files.toml}`,
		);
		expect(run.out).toContain("Stopped before changing anything");
	});

	it("names every missing secret, and says the first `secret put` creates the Worker", () => {
		account = emptyAccount();
		const run = deploy();
		expect(run.code).toBe(1);
		expect(run.mutating).toEqual([]);
		expect(run.out).toContain(
			"Worker secrets not set: ADMIN_TOKEN, WEBHOOK_SECRET.",
		);
		expect(run.out).toContain("The Worker does not exist yet");
	});

	it("prints the whole plan on a dry run without running wrangler at all", () => {
		const run = deploy("--dry-run");
		expect(run.code, run.out).toBe(0);
		expect(run.commands).toEqual([]);
		for (const line of [
			/1\. Production config\n\s+\S*production\.json\s+valid\s+2 source\(s\), 2 destination\(s\)/,
			/ADMIN_TOKEN\s+unknown\s+needed by the Worker/,
			/WEBHOOK_SECRET\s+unknown\s+needed by \S*production\.json/,
			/conduit-events-dlq\s+create\s+npx wrangler queues create conduit-events-dlq/,
			/ARCHIVE: conduit-archive\s+create\s+npx wrangler r2 bucket create conduit-archive/,
			/DB: conduit\s+create\s+npx wrangler d1 create conduit/,
			/IDENTITY_CACHE: conduit-collector-identity-cache\s+create\s+npx wrangler kv namespace create conduit-collector-identity-cache/,
			/write its id into wrangler\.toml/,
			/DB\s+apply\s+npx wrangler d1 migrations apply DB --remote/,
			/conduit-collector\s+deploy\s+npx wrangler deploy/,
			/push\s+npm run config -- diff \S+ --remote/,
		])
			expect(run.out).toMatch(line);
		expect(readFileSync(files.toml, "utf8")).not.toContain("database_id");
	});

	it("--check lists the account and changes nothing, not even D1's migration table", () => {
		expect(deploy().code).toBe(0);
		const run = deploy("--check");
		expect(run.code, run.out).toBe(0);
		expect(run.mutating).toEqual([]);
		expect(run.commands).not.toContain("d1 migrations list DB --remote");
		expect(run.out).toMatch(/conduit-deliveries\s+exists/);
		expect(run.out).toMatch(/ADMIN_TOKEN\s+set/);
	});

	it("creates what a binding added to wrangler.toml later needs, and only that", () => {
		expect(deploy().code).toBe(0);
		writeFileSync(
			files.toml,
			`${readFileSync(files.toml, "utf8")}
[[queues.producers]]
binding = "AUDIENCES"
queue = "conduit-audiences"

[[kv_namespaces]]
binding = "SESSIONS"
`,
		);
		const run = deploy();
		expect(run.code, run.out).toBe(0);
		expect(run.mutating).toEqual([
			"queues create conduit-audiences",
			"kv namespace create conduit-collector-sessions",
			"deploy",
		]);
		expect(readFileSync(files.toml, "utf8")).toMatch(
			/binding = "SESSIONS"\nid = "\w+"/,
		);
	});

	it("refuses a wrangler.toml id this account does not have", () => {
		writeFileSync(
			files.toml,
			readFileSync(files.toml, "utf8").replace(
				'binding = "CONFIG"',
				'binding = "CONFIG"\nid = "f00df00df00df00df00df00df00df00d"',
			),
		);
		const run = deploy();
		expect(run.code).toBe(1);
		expect(run.mutating).toEqual([]);
		expect(run.out).toContain(
			'wrangler.toml gives CONFIG id "f00df00df00df00df00df00df00df00d", which this account does not have',
		);
	});

	it("refuses a config that still has the example's public write keys", () => {
		writeFileSync(
			files.config,
			readFileSync(join(ROOT, "config/production.example.json"), "utf8"),
		);
		const run = deploy();
		expect(run.code).toBe(1);
		expect(run.mutating).toEqual([]);
		expect(run.out).toContain(
			"source 'web' still has the write key of config/production.example.json",
		);
	});
});

describe("the command line", () => {
	/** `npm run deploy -- …` as an operator runs it: tsx under the pinned Node. */
	function cli(...args: string[]) {
		const result = spawnSync(
			process.execPath,
			[
				join(ROOT, "node_modules/tsx/dist/cli.mjs"),
				join(ROOT, "scripts/deploy.ts"),
				...args,
			],
			{ cwd: ROOT, encoding: "utf8" },
		);
		return { code: result.status, out: `${result.stdout}${result.stderr}` };
	}

	it("prints the plan of a dry run and exits 0 when nothing is in the way", () => {
		const run = cli(
			"--dry-run",
			"--config",
			files.config,
			"--wrangler-config",
			files.toml,
		);
		expect(run.code, run.out).toBe(0);
		expect(run.out).toContain(
			"Deploy plan for Worker conduit-collector (dry run",
		);
		expect(run.out).toMatch(
			/conduit-collector\s+deploy\s+npx wrangler deploy --config/,
		);
	});

	it("exits 1 with where to start when the production config is missing", () => {
		const run = cli("--dry-run", "--config", join(dir, "absent.json"));
		expect(run.code).toBe(1);
		expect(run.out).toContain(
			"does not exist: copy config/production.example.json to it",
		);
	});

	it("refuses --dry-run with --check, and explains its usage", () => {
		expect(cli("--dry-run", "--check")).toMatchObject({
			code: 2,
			out: expect.stringContaining("Choose one of --dry-run and --check."),
		});
		expect(cli("--help")).toMatchObject({
			code: 0,
			out: expect.stringContaining("usage: npm run deploy"),
		});
	});
});

describe("config/production.example.json", () => {
	it("passes npm run config -- validate", () => {
		const result = spawnSync(
			process.execPath,
			[
				join(ROOT, "node_modules/tsx/dist/cli.mjs"),
				join(ROOT, "scripts/config.ts"),
				"validate",
				"config/production.example.json",
			],
			{ cwd: ROOT, encoding: "utf8" },
		);
		expect(result.status, result.stderr).toBe(0);
		expect(result.stdout).toContain(
			"config/production.example.json is valid: 2 source(s), 2 destination(s).",
		);
		expect(result.stdout).toContain("WEBHOOK_SECRET");
	});
});
