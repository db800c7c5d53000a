import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockServer } from "../packages/collector/test/vendors/mock-server";
import type { RecordedRequest } from "../packages/collector/test/vendors/secrets";
import { TEST_SECRETS } from "../packages/collector/test/vendors/secrets";
import { webhookReceiver } from "../packages/collector/test/vendors/webhook";
import { freePort } from "../scripts/wrangler";
import { DEV_WRITE_KEY, devConfig, waitUntil } from "./support/collector";

// `npm run dev` as the README describes it, with a destination secret added to .dev.vars: the
// real `wrangler dev` reads .dev.vars beside its wrangler.toml, so the Worker runs from a
// temporary copy of the repository's wrangler.toml (only its paths made absolute) with a
// temporary .dev.vars beside it, and its own local state.

const root = new URL("..", import.meta.url).pathname;
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const TSX = join(root, "node_modules/tsx/dist/cli.mjs");
const TENANT = "dev-vars";

const dir = mkdtempSync(join(tmpdir(), "conduit-dev-vars-"));
const state = join(dir, "state");
const wranglerToml = join(dir, "wrangler.toml");
let receiver: { url: string; server: { close(): void } };
let dev: ChildProcess | undefined;
let collector: URL;
/** What wrangler dev printed: shown when an assertion fails (the consumer logs why it gave up). */
let output = "";

/** The config document: the development source and a webhook signed with a .dev.vars secret. */
function configDocument(hookUrl: string) {
	return {
		version: 1,
		// The receiver is on 127.0.0.1, which a document must opt in to.
		allowPrivateNetwork: true,
		sources: devConfig.sources,
		destinations: [
			{
				id: "local-hook",
				type: "webhook",
				settings: { url: hookUrl, secrets: [{ secret: "WEBHOOK_SECRET" }] },
			},
		],
	};
}

beforeAll(async () => {
	const config = parse(readFileSync(join(root, "wrangler.toml"), "utf8")) as {
		main: string;
		d1_databases: { migrations_dir?: string }[];
	};
	config.main = join(root, config.main);
	for (const database of config.d1_databases) {
		if (database.migrations_dir)
			database.migrations_dir = join(root, database.migrations_dir);
	}
	writeFileSync(wranglerToml, stringify(config));
	writeFileSync(
		join(dir, ".dev.vars"),
		[
			"ADMIN_TOKEN=conduit-dev-admin-token-local-only",
			`WEBHOOK_SECRET=${TEST_SECRETS.WEBHOOK_SECRET}`,
		].join("\n"),
	);

	receiver = await startMockServer(webhookReceiver);
	const configFile = join(dir, "config.json");
	writeFileSync(
		configFile,
		JSON.stringify(configDocument(`${receiver.url}/t/${TENANT}/hook`)),
	);

	// What `npm run dev` runs before `wrangler dev`: the migrations and the config push (side
	// by side here: one writes the local D1, the other the local KV).
	await Promise.all([
		run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local"]),
		run(TSX, [
			join(root, "scripts/config.ts"),
			"push",
			configFile,
			"--local",
			"--persist-to",
			state,
		]),
	]);

	const [port, inspectorPort] = [await freePort(), await freePort()];
	collector = new URL(`http://127.0.0.1:${port}`);
	dev = spawn(
		process.execPath,
		[
			WRANGLER,
			"dev",
			"--config",
			wranglerToml,
			"--ip",
			"127.0.0.1",
			"--port",
			String(port),
			"--inspector-port",
			String(inspectorPort),
			"--persist-to",
			state,
			"--show-interactive-dev-session=false",
		],
		{
			cwd: dir,
			// Its own process group, so that closing it also ends the workerd it starts.
			detached: true,
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
		},
	);
	dev.stdout?.on("data", (chunk) => {
		output += chunk;
	});
	dev.stderr?.on("data", (chunk) => {
		output += chunk;
	});
	const health = await waitUntil(
		() =>
			fetch(new URL("/health", collector)).then(
				(response) => response.status,
				() => 0,
			),
		(status) => status === 200,
		90_000,
	);
	if (health !== 200)
		throw new Error(`wrangler dev did not answer /health:\n${output}`);
	// wrangler names the secrets it loaded: both .dev.vars entries must be among them.
	expect(output).toContain("Using secrets defined in .dev.vars");
	// Three wrangler processes, each starting workerd: 35 s to 115 s measured on two cores that
	// other test suites were sharing (load average 10 to 22).
}, 240_000);

afterAll(async () => {
	const running = dev;
	if (running?.pid && running.exitCode === null) {
		const exited = new Promise((resolve) => running.once("exit", resolve));
		process.kill(-running.pid, "SIGTERM");
		// workerd writes to the state folder until it stops: remove the folder after that.
		await Promise.race([
			exited,
			new Promise((resolve) => setTimeout(resolve, 10_000)),
		]);
	}
	receiver?.server.close();
	rmSync(dir, { recursive: true, force: true });
});

describe("a destination secret in .dev.vars, under wrangler dev", () => {
	it("signs the webhook deliveries with it", async () => {
		const response = await fetch(new URL("/v1/track", collector), {
			method: "POST",
			headers: {
				authorization: `Basic ${btoa(`${DEV_WRITE_KEY}:`)}`,
				"content-type": "application/json",
			},
			body: JSON.stringify({
				userId: "user_dev_vars",
				event: "Secret Loaded",
				messageId: "dev-vars-0001",
			}),
		});
		expect(response.status).toBe(200);

		const requests = await waitUntil(
			() =>
				fetch(`${receiver.url}/t/${TENANT}/__requests`).then(
					(r) => r.json() as Promise<RecordedRequest[]>,
				),
			(list) => list.length > 0,
			20_000,
		);
		expect(requests, output).toHaveLength(1);
		const [delivery] = requests;
		// The receiver verified the Standard Webhooks signature against WEBHOOK_SECRET: no
		// violation, and a signature was there to verify (an unsigned request has none).
		expect(delivery?.violations).toEqual([]);
		expect(delivery?.headers["webhook-signature"]).toMatch(/^v1,\S+$/);
		expect(JSON.stringify(delivery?.body)).toContain("dev-vars-0001");
	}, 30_000);
});

/** Runs a Node CLI in the temporary project (its wrangler.toml and state); rejects when it fails. */
function run(script: string, args: string[]): Promise<void> {
	const isWrangler = script === WRANGLER;
	const child = spawn(
		process.execPath,
		[
			script,
			...args,
			...(isWrangler ? ["--config", wranglerToml, "--persist-to", state] : []),
		],
		{
			cwd: root,
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
		},
	);
	let printed = "";
	child.stdout.on("data", (chunk) => {
		printed += chunk;
	});
	child.stderr.on("data", (chunk) => {
		printed += chunk;
	});
	return new Promise((resolve, reject) => {
		child.on("error", reject);
		child.on("close", (code) =>
			code === 0
				? resolve()
				: reject(new Error(`${args.join(" ")} failed:\n${printed}`)),
		);
	});
}
