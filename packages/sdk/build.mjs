// Builds dist/: index.js (ESM for bundlers; idb-keyval stays an import, @conduit/protocol, which
// is not published, is bundled in), index.d.ts and friends (tsc), and conduit.js (the
// script-tag IIFE with everything inside).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { minify } from "terser";

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
		external: ["idb-keyval"],
	}),
	build({
		...shared,
		entryPoints: ["src/script.ts"],
		format: "iife",
		// esbuild folds constants and drops dead branches; terser then compresses and mangles,
		// which leaves the script tag about 170 B (brotli) smaller than esbuild's own minifier.
		minifySyntax: true,
		// The root tsconfig's `strict` would open the IIFE with "use strict": nothing in the
		// SDK depends on strict mode (no `this`, `arguments` or `with`; TypeScript rejects
		// undeclared names), and the directive costs 10 B (brotli).
		tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
		write: false,
		define: { ...shared.define, __BROWSER__: "true" },
	}).then(async ({ outputFiles: [iife] }) => {
		// Three passes, and rewrites that are unsafe only for code this SDK does not have (a
		// `String()` of an object with its own toString, a function used as a constructor):
		// about 40 B (brotli) less.
		const { code } = await minify(iife?.text ?? "", {
			ecma: 2020,
			compress: { passes: 3, unsafe: true, unsafe_arrows: true },
			format: { comments: false },
		});
		writeFileSync("dist/conduit.js", code ?? "");
	}),
]);
execFileSync("tsc", ["-p", "tsconfig.build.json"], { stdio: "inherit" });
