import { defineConfig } from "vitest/config";

/** Tests of the Node-side tools (config CLI), which drive wrangler against a temporary local state. */
export default defineConfig({
	test: {
		name: "scripts",
		include: ["scripts/**/*.test.ts"],
		environment: "node",
		// Each wrangler KV command starts workerd (about a second); a test runs a few of them.
		testTimeout: 30_000,
	},
});
