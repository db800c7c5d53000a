// Prints the exact byte sizes of the builds (raw, gzip -9, brotli -11: the settings size-limit
// uses) as a table in `npm test`; size-limit, run just before, enforces the budget.
import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const rows = [
	["dist/conduit.js", "script tag (IIFE, idb-keyval inside)"],
	["dist/index.js", "npm ESM (unminified, idb-keyval external)"],
].map(([file, what]) => {
	const bytes = readFileSync(file);
	return {
		file,
		what,
		raw: bytes.length,
		gzip: gzipSync(bytes, { level: 9 }).length,
		brotli: brotliCompressSync(bytes, {
			params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
		}).length,
	};
});
console.log("\n| file | what | raw B | gzip B | brotli B |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const r of rows)
	console.log(`| ${r.file} | ${r.what} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
console.log(
	"\nBudget: dist/conduit.js ≤ 5,087 B brotli (enforced by size-limit above).\n",
);
