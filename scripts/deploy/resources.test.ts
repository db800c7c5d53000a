import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT } from "../wrangler";
import { provisionedName, resourcesFrom } from "./resources";

const toml = readFileSync(`${ROOT}wrangler.toml`, "utf8");

describe("resourcesFrom", () => {
	it("reads every resource the repository's wrangler.toml binds, dead-letter queues included", () => {
		expect(resourcesFrom(toml)).toEqual({
			worker: "conduit-collector",
			queues: [
				"conduit-events",
				"conduit-deliveries",
				"conduit-deliveries-dlq",
				"conduit-events-dlq",
			],
			buckets: [
				{ binding: "RECORDS", name: "conduit-events", named: true },
				{ binding: "ARCHIVE", name: "conduit-archive", named: true },
			],
			databases: [
				{
					binding: "DB",
					name: "conduit",
					migrationsDir: "packages/collector/migrations",
				},
			],
			namespaces: [
				{ binding: "CONFIG", title: "conduit-collector-config" },
				{
					binding: "IDENTITY_CACHE",
					title: "conduit-collector-identity-cache",
				},
			],
			notCreated: [],
		});
	});

	it("picks up a binding added later, and names what it does not create", () => {
		const more = `${toml}
[[r2_buckets]]
binding = "EXPORTS"

[[d1_databases]]
binding = "AUDIT"
database_id = "5a1c0d1e-0000-4000-8000-000000000001"

[[vectorize]]
binding = "INDEX"
index_name = "profiles"
`;
		const resources = resourcesFrom(more);
		expect(resources.buckets.at(-1)).toEqual({
			binding: "EXPORTS",
			name: "conduit-collector-exports",
			named: false,
		});
		expect(resources.databases.at(-1)).toEqual({
			binding: "AUDIT",
			name: "conduit-collector-audit",
			id: "5a1c0d1e-0000-4000-8000-000000000001",
			migrationsDir: "migrations",
		});
		expect(resources.notCreated).toEqual(["vectorize"]);
	});

	it("says which key is wrong", () => {
		expect(() =>
			resourcesFrom('name = "w"\n[[kv_namespaces]]\nid = "x"\n'),
		).toThrow("kv_namespaces.0.binding");
	});
});

describe("provisionedName", () => {
	it("is the name wrangler gives what it provisions", () => {
		expect(provisionedName("conduit-collector", "IDENTITY_CACHE")).toBe(
			"conduit-collector-identity-cache",
		);
	});
});
