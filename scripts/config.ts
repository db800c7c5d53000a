/**
 * The config CLI: validates the config document and moves it between a file and the CONFIG
 * namespace through wrangler's KV commands.
 *
 *   npm run config -- validate config/dev.json
 *   npm run config -- push config/dev.json --local        # wrangler dev's local state
 *   npm run config -- push config/production.json --remote  # the deployed namespace
 *   npm run config -- pull [file] [--local|--remote]      # to a file, or stdout
 *   npm run config -- diff config/production.json --remote  # exit 1 when they differ
 *
 * A change is live on every isolate within CONFIG_CACHE_SECONDS (wrangler.toml), no redeploy.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createTwoFilesPatch } from "diff";
import { parseConfig } from "../packages/collector/src/config/schema";
import { secretNames } from "../packages/collector/src/config/secret";
import {
	type Runner,
	runWrangler,
	type Target,
	targetFlags,
	wrangler,
} from "./wrangler";

const KEY = "config";
const USAGE = `usage: npm run config -- <validate|push|pull|diff> [file] [--local|--remote] [--persist-to <dir>]`;

/** What a command prints and how the process should exit. */
export interface Outcome {
	code: number;
	out: string;
}

/**
 * Validates a config document's text: every error, or a summary with the secrets it names.
 *
 * @example
 * validate(readFileSync("config/dev.json", "utf8"), "config/dev.json") // { code: 0, out: "config/dev.json is valid: …" }
 */
export function validate(text: string, name: string): Outcome {
	let document: unknown;
	try {
		document = JSON.parse(text);
	} catch (error) {
		return { code: 1, out: `${name} is not JSON: ${(error as Error).message}` };
	}
	const parsed = parseConfig(document);
	if (!parsed.ok)
		return {
			code: 1,
			out: `${name} is invalid (${parsed.errors.length} errors):\n${parsed.errors.map((e) => `  - ${e}`).join("\n")}`,
		};
	const { config } = parsed.config;
	const secrets = secretNames(config.destinations);
	const lines = [
		`${name} is valid: ${config.sources.length} source(s), ${config.destinations.length} destination(s).`,
		secrets.length > 0
			? `Secrets it references (set each with \`npx wrangler secret put NAME\`; locally in .dev.vars): ${secrets.join(", ")}`
			: "It references no secrets.",
	];
	if (config.allowPrivateNetwork)
		lines.push(
			"It allows private, loopback and internal destination hosts (allowPrivateNetwork): for local development only.",
		);
	return { code: 0, out: lines.join("\n") };
}

/** The document currently in KV, or undefined when the key is empty (`run`: see {@link Runner}). */
export function pull(
	target: Target,
	run: Runner = runWrangler,
): string | undefined {
	const text = wrangler(
		[
			"kv",
			"key",
			"get",
			KEY,
			"--binding",
			"CONFIG",
			"--text",
			...targetFlags(target),
		],
		run,
	);
	// wrangler prints this (and exits 0) for a missing key.
	if (text.trim() === "Value not found") return undefined;
	return text;
}

/** Validates the file and, only when valid, writes it to KV. */
export function push(
	file: string,
	target: Target,
	run: Runner = runWrangler,
): Outcome {
	const checked = validate(readFileSync(file, "utf8"), file);
	if (checked.code !== 0)
		return { code: 1, out: `${checked.out}\nNothing was pushed.` };
	wrangler(
		[
			"kv",
			"key",
			"put",
			KEY,
			"--path",
			file,
			"--binding",
			"CONFIG",
			...targetFlags(target),
		],
		run,
	);
	const where = target.remote
		? "the remote CONFIG namespace"
		: "local CONFIG state";
	return {
		code: 0,
		out: `${checked.out}\nPushed ${file} to ${where}. Live within CONFIG_CACHE_SECONDS.`,
	};
}

/**
 * A unified diff of KV's document against the file's, both pretty-printed; exit code 1 when
 * they differ (like diff(1)).
 */
export function diff(
	file: string,
	target: Target,
	run: Runner = runWrangler,
): Outcome {
	const local = pretty(readFileSync(file, "utf8"));
	const current = pull(target, run);
	const remote = current === undefined ? "" : pretty(current);
	if (local === remote)
		return { code: 0, out: `No differences between ${file} and KV.` };
	return {
		code: 1,
		out: createTwoFilesPatch("kv:config", file, remote, local, "", "", {
			context: 3,
		}),
	};
}

function pretty(text: string): string {
	return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
}

function main(argv: string[]): Outcome {
	const { values, positionals } = parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			local: { type: "boolean" },
			remote: { type: "boolean" },
			"persist-to": { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
	const [command, file] = positionals;
	if (values.help || !command) return { code: values.help ? 0 : 2, out: USAGE };
	if (values.local && values.remote)
		return { code: 2, out: "Choose one of --local and --remote." };
	const target: Target = {
		remote: values.remote === true,
		persistTo: values["persist-to"],
	};
	const needFile = (run: (f: string) => Outcome): Outcome =>
		file ? run(file) : { code: 2, out: `${command} needs a file.\n${USAGE}` };
	switch (command) {
		case "validate":
			return needFile((f) => validate(readFileSync(f, "utf8"), f));
		case "push":
			return needFile((f) => push(f, target));
		case "diff":
			return needFile((f) => diff(f, target));
		case "pull": {
			const text = pull(target);
			if (text === undefined) return { code: 1, out: "No config in KV yet." };
			if (!file) return { code: 0, out: pretty(text).trimEnd() };
			writeFileSync(file, pretty(text));
			return { code: 0, out: `Wrote ${file}.` };
		}
		default:
			return { code: 2, out: `Unknown command '${command}'.\n${USAGE}` };
	}
}

if (import.meta.url === `file://${process.argv[1]}`) {
	try {
		const { code, out } = main(process.argv.slice(2));
		(code === 0 ? console.log : console.error)(out);
		process.exitCode = code;
	} catch (error) {
		console.error(error instanceof Error ? error.message : String(error));
		process.exitCode = 1;
	}
}
