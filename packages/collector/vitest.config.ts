import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig(async () => {
	const migrations = await readD1Migrations(here("./migrations"));
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: here("../../wrangler.toml") },
				miniflare: {
					bindings: { TEST_MIGRATIONS: migrations },
					// A real D1 database without the schema: every query fails, as when D1 is down.
					d1Databases: { UNMIGRATED_DB: "unmigrated" },
					// A small limit so the 429 path can be reached in a test.
					ratelimits: {
						RATE_LIMITER: {
							namespace_id: "1001",
							simple: { limit: 5, period: 60 },
						},
					},
					// Tests must never leave the machine.
					outboundService: (request: Request) =>
						new Response(`blocked outbound request to ${request.url}`, {
							status: 599,
						}),
				},
			}),
		],
		test: {
			name: "collector",
			include: ["src/**/*.test.ts", "test/**/*.test.ts"],
			setupFiles: ["./test/setup.ts"],
		},
	};
});
