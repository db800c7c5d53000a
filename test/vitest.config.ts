import { defineConfig } from "vitest/config";

// End-to-end tests: Node drives a locally started collector (and, for the SDK, Chromium).
export default defineConfig({
	test: {
		name: "e2e",
		// The examples' own unit tests run here too, beside the end-to-end tests that drive them.
		include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
		root: new URL("..", import.meta.url).pathname,
		environment: "node",
		// Starting workerd and building the Worker takes a few seconds per file.
		hookTimeout: 60_000,
		// Each file waits mostly on its own workerd and Chromium: two at once.
		maxWorkers: 2,
	},
});
