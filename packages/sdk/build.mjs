// Builds dist/: index.js (ESM for bundlers; idb-keyval and ulid stay imports), index.d.ts and
// friends (tsc), and conduit.js (the script-tag IIFE with both dependencies inside).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const shared = {
	bundle: true,
	define: { __VERSION__: JSON.stringify(version), __BROWSER__: "false" },
	// Internal property names start with "_" and are shortened; public and wire names are not.
	mangleProps: /^_/,
	target: "es2022",
	legalComments: "none",
	logLevel: "warning",
};

rmSync("dist", { recursive: true, force: true });
await Promise.all([
	build({
		...shared,
		entryPoints: ["src/index.ts"],
		format: "esm",
		outfile: "dist/index.js",
		external: ["idb-keyval", "ulid"],
	}),
	build({
		...shared,
		entryPoints: ["src/script.ts"],
		format: "iife",
		minify: true,
		outfile: "dist/conduit.js",
		define: { ...shared.define, __BROWSER__: "true" },
	}),
]);
execFileSync("tsc", ["-p", "tsconfig.build.json"], { stdio: "inherit" });
