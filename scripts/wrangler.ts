import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root (where wrangler.toml is). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(
	new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url),
);

/** Where a KV or D1 command acts: the local state of `wrangler dev`, or the real namespace. */
export interface Target {
	remote: boolean;
	/** Local state directory (wrangler's --persist-to); default .wrangler/state. */
	persistTo?: string;
}

/**
 * Runs the project's wrangler with the Node running this script (wrangler needs Node 22, which
 * the root package pins) and returns its stdout; throws an Error with stderr when it fails.
 *
 * @example
 * wrangler(["kv", "key", "get", "config", "--binding", "CONFIG", ...targetFlags({ remote: false })])
 */
export function wrangler(args: string[]): string {
	const result = spawnSync(process.execPath, [WRANGLER, ...args], {
		cwd: ROOT,
		encoding: "utf8",
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
	});
	if (result.status !== 0)
		throw new Error(
			`wrangler ${args.join(" ")} failed:\n${result.stderr || result.stdout}`,
		);
	return result.stdout;
}

/**
 * The flags that point a wrangler KV/D1 command at a target.
 *
 * @example
 * targetFlags({ remote: false, persistTo: "/tmp/state" }) // ["--local", "--persist-to", "/tmp/state"]
 */
export function targetFlags(target: Target): string[] {
	if (target.remote) return ["--remote"];
	return target.persistTo
		? ["--local", "--persist-to", target.persistTo]
		: ["--local"];
}
