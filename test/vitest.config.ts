import { defineConfig } from "vitest/config";

/** End-to-end tests: real Chromium against the collector started locally (workerd, D1, KV, queues). */
export default defineConfig({
	test: {
		name: "e2e",
		include: ["test/**/*.test.ts"],
		// Starting workerd and applying migrations takes a few seconds on a 2-core machine.
		hookTimeout: 60_000,
	},
});
