import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
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

/** How a wrangler command ended. */
export interface WranglerResult {
	status: number;
	stdout: string;
	stderr: string;
}

/** Runs a wrangler command: {@link runWrangler}, or a stand-in in tests. */
export type Runner = (
	args: string[],
	options?: { stream?: boolean },
) => WranglerResult;

/**
 * Runs the project's wrangler with the Node running this script (wrangler needs Node 22, which
 * the root package pins) and returns how it ended, whatever its exit code. `stream` shows its
 * output as it goes instead of capturing it (for long commands such as `deploy`); its stdin is
 * never a terminal, so wrangler takes the non-interactive path and never waits for an answer.
 *
 * @example
 * runWrangler(["d1", "list", "--json"]) // { status: 0, stdout: "[…]", stderr: "" }
 */
export const runWrangler: Runner = (args, options = {}) => {
	const result = spawnSync(process.execPath, [WRANGLER, ...args], {
		cwd: ROOT,
		encoding: "utf8",
		stdio: options.stream ? ["ignore", "inherit", "inherit"] : "pipe",
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
	});
	if (result.error) throw result.error;
	return {
		status: result.status ?? 1,
		stdout: result.stdout ?? "",
		stderr: result.stderr ?? "",
	};
};

/**
 * Runs the project's wrangler (or `run`) and returns its stdout; throws an Error with stderr
 * when it fails.
 *
 * @example
 * wrangler(["kv", "key", "get", "config", "--binding", "CONFIG", ...targetFlags({ remote: false })])
 */
export function wrangler(args: string[], run: Runner = runWrangler): string {
	const result = run(args);
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

/**
 * A loopback port nothing listens on right now (the OS picks it), for a `wrangler dev` or a
 * local receiver started next.
 *
 * @example
 * const port = await freePort(); // 41237
 */
export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	await new Promise((resolve) => server.close(resolve));
	if (typeof address !== "object" || address === null)
		throw new Error("no port");
	return address.port;
}
