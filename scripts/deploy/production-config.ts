/**
 * The production config as the deploy sees it: valid, free of the example's public write keys,
 * and the Worker secrets it needs. Pure apart from reading the files named.
 */
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { parseEnv } from "node:util";
import { parseConfig } from "../../packages/collector/src/config/schema";
import { secretNames } from "../../packages/collector/src/config/secret";
import { ROOT } from "../wrangler";

/** The committed starting point for config/production.json. */
export const EXAMPLE = "config/production.example.json";

export interface ConfigCheck {
	/** The file as the plan shows it: relative to the repository when inside it. */
	file: string;
	/** Its absolute path. */
	path: string;
	status: "valid" | "missing" | "invalid";
	/** One line: what the config holds, or where to start. */
	detail: string;
	/** Secret names the config references (empty when it could not be read). */
	secrets: string[];
	problems: string[];
}

/**
 * Reads and validates a production config (an absolute path). A missing file, an invalid document, or a write key
 * copied from the example (public, in this repository) is a problem that stops the deploy.
 *
 * @example
 * checkConfig("config/production.json").secrets // ["WEBHOOK_SECRET"]
 */
export function checkConfig(file: string): ConfigCheck {
	const shown = file.startsWith(ROOT) ? relative(ROOT, file) : file;
	if (!existsSync(file))
		return {
			file: shown,
			path: file,
			status: "missing",
			detail: `cp ${EXAMPLE} ${shown}, then edit it`,
			secrets: [],
			problems: [
				`${shown} does not exist: copy ${EXAMPLE} to it and set your own sources, write keys and destinations (or pass --config <file>).`,
			],
		};
	let document: unknown;
	try {
		document = JSON.parse(readFileSync(file, "utf8"));
	} catch (error) {
		return invalid(shown, file, [`not JSON: ${(error as Error).message}`]);
	}
	const parsed = parseConfig(document);
	if (!parsed.ok) return invalid(shown, file, parsed.errors);
	const { config } = parsed.config;
	const problems: string[] = [];
	const exampleKeys = new Set(writeKeys(`${ROOT}${EXAMPLE}`));
	for (const source of config.sources)
		if (exampleKeys.has(source.writeKey))
			problems.push(
				`${shown}: source '${source.id}' still has the write key of ${EXAMPLE}, which anyone can read; give it your own (a long random string).`,
			);
	return {
		file: shown,
		path: file,
		status: "valid",
		detail: `${config.sources.length} source(s), ${config.destinations.length} destination(s)`,
		secrets: secretNames(config.destinations),
		problems,
	};
}

/**
 * The Worker's own secrets: the names in .dev.vars.example, the file `npm run dev` copies to
 * .dev.vars and `npm run types` types them from (ADMIN_TOKEN).
 *
 * @example
 * workerSecrets() // ["ADMIN_TOKEN"]
 */
export function workerSecrets(): string[] {
	return Object.keys(
		parseEnv(readFileSync(`${ROOT}.dev.vars.example`, "utf8")),
	);
}

function invalid(file: string, path: string, errors: string[]): ConfigCheck {
	return {
		file,
		path,
		status: "invalid",
		detail: `${errors.length} error(s), listed below`,
		secrets: [],
		problems: [
			`${file} is invalid:\n${errors.map((e) => `      ${e}`).join("\n")}`,
		],
	};
}

function writeKeys(file: string): string[] {
	const document = JSON.parse(readFileSync(file, "utf8")) as {
		sources?: { writeKey?: unknown }[];
	};
	return (document.sources ?? []).flatMap((source) =>
		typeof source.writeKey === "string" ? [source.writeKey] : [],
	);
}
