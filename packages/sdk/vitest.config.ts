import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

const { version } = JSON.parse(
	readFileSync(new URL("./package.json", import.meta.url), "utf8"),
);

export default defineConfig({
	define: { __VERSION__: JSON.stringify(version), __BROWSER__: "false" },
	test: {
		name: "sdk",
		include: ["src/**/*.test.ts", "test/**/*.test.ts"],
		// A browser test loads a few pages; on a busy 2-core machine that alone can pass 5 s.
		// The waits inside each test keep their own, tighter bounds.
		testTimeout: 15_000,
	},
});
