import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { TEST_SECRETS } from "./test/vendors/secrets.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The admin API's bearer token, a Worker secret: no .dev.vars is committed, so it is bound
// explicitly below.
const ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij";

/** Only the local vendor servers (test/vendors) may be reached from the Worker. */
function isLocal(url: string): boolean {
	const { hostname } = new URL(url);
	return hostname === "127.0.0.1" || hostname === "localhost";
}

/**
 * The files that take longest (the 10,000-case fuzz run, the identity fixture replays) start
 * first, so that on a clean checkout, with no timings cached, they do not run alone at the end
 * while the other workers idle; the rest keep vitest's order.
 */
const LONGEST_FIRST = ["test/fuzz.test.ts", "test/identity-fixtures.test.ts"];

class LongestFirst extends BaseSequencer {
	override async sort(
		files: TestSpecification[],
	): Promise<TestSpecification[]> {
		const sorted = await super.sort(files);
		const rank = (file: TestSpecification) => {
			const i = LONGEST_FIRST.findIndex((name) => file.moduleId.endsWith(name));
			return i === -1 ? LONGEST_FIRST.length : i;
		};
		return sorted
			.map((file, i) => ({ file, i }))
			.sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i)
			.map(({ file }) => file);
	}
}

/**
 * The test files beside the code that import nothing from `cloudflare:workers` or
 * `cloudflare:test`: they test code apart from the Worker's storage. They still run inside workerd, but share one runtime
 * per worker instead of starting a fresh one (with fresh storage) for each file, which costs
 * seconds per file and most of the suite's time. Every other file gets its own runtime and
 * storage: the pipeline tests count rows and objects, and a neighbour's leftovers would change
 * what they see.
 */
function bindingFreeTests(): string[] {
	const root = here("./src");
	return readdirSync(root, { recursive: true, encoding: "utf8" })
		.filter((file) => file.endsWith(".test.ts"))
		.filter(
			(file) =>
				!/from "cloudflare:(workers|test)"/.test(
					readFileSync(`${root}/${file}`, "utf8"),
				),
		)
		.map((file) => `src/${file.replaceAll("\\", "/")}`);
}

/**
 * Test files beside the code that use the Worker's storage but only through rows and objects
 * of their own (unique ids or prefixes; a table they empty is theirs alone), so they may share
 * a runtime, and its storage, with each other: one runtime per worker instead of one per file.
 * A file that counts or lists rows it did not write stays in the isolated project.
 */
const SHARED_STORAGE = [
	"src/identity/cleanup.test.ts",
	"src/identity/d1-counter.test.ts",
	"src/identity/cache.test.ts",
	"src/records/records.test.ts",
	"src/records/scan.test.ts",
	"src/queues/usage.test.ts",
	"src/destinations/r2/index.test.ts",
	"src/db/parked.test.ts",
	"src/db/meter.test.ts",
	"src/db/delivery-failures.test.ts",
	"src/archive/objects.test.ts",
	"src/console/deliveries.test.ts",
	"src/console/live-tail.test.ts",
	"src/console/tap.test.ts",
	"src/console/pages/config.test.ts",
];

export default defineConfig(async () => {
	const migrations = await readD1Migrations(here("./migrations"));
	const shared = bindingFreeTests();
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: here("../../wrangler.toml") },
				miniflare: {
					bindings: {
						TEST_MIGRATIONS: migrations,
						...TEST_SECRETS,
						// The admin APIs' bearer token (a Worker secret in production).
						ADMIN_TOKEN,
						// Tests change the config between cases: read it every time.
						CONFIG_CACHE_SECONDS: "0",
					},
					// A real D1 database without the schema: every query fails, as when D1 is down.
					d1Databases: { UNMIGRATED_DB: "unmigrated" },
					// A small limit so the 429 path can be reached in a test.
					ratelimits: {
						RATE_LIMITER: {
							namespace_id: "1001",
							simple: { limit: 5, period: 60 },
						},
					},
					// Tests never leave the machine: loopback requests go to the local vendor
					// servers, anything else is refused.
					outboundService: async (request: Request) => {
						if (!isLocal(request.url))
							return new Response(
								`blocked outbound request to ${request.url}`,
								{
									status: 599,
								},
							);
						// Miniflare hands over its own Request class: rebuild it for Node's fetch.
						return fetch(request.url, {
							method: request.method,
							headers: request.headers,
							body: request.body ? await request.arrayBuffer() : undefined,
						});
					},
				},
			}),
		],
		test: {
			// The consumer logs a JSON line per batch, thousands in the fixture tests: show the
			// logs of failing tests only.
			silent: "passed-only" as const,
			// The second reporter ends a run whose files have all ended but which does not exit.
			reporters: ["default", "./test/exit-watchdog.ts"],
			// Most of a file's time is workerd start-up and waiting on local bindings, not CPU:
			// four files at once cut the suite's wall time to under half on a two-core machine.
			maxWorkers: 4,
			sequence: { sequencer: LongestFirst },
			globalSetup: ["./test/vendors/global-setup.ts"],
			projects: [
				{
					extends: true as const,
					test: {
						name: "collector",
						include: ["src/**/*.test.ts", "test/**/*.test.ts"],
						exclude: [...shared, ...SHARED_STORAGE],
						setupFiles: ["./test/setup.ts"],
					},
				},
				{
					extends: true as const,
					test: {
						name: "collector-storage",
						include: SHARED_STORAGE,
						isolate: false,
						// Applies the migrations once per runtime: D1 records those it applied.
						setupFiles: ["./test/setup.ts"],
					},
				},
				{
					extends: true as const,
					test: { name: "collector-units", include: shared, isolate: false },
				},
			],
		},
	};
});
