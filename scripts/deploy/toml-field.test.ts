import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { setBindingField } from "./toml-field";

const TOML = `name = "w"

[[kv_namespaces]]
binding = "CONFIG" # the config document

# The identity cache: its own namespace.
[[kv_namespaces]]
  binding = 'IDENTITY_CACHE'

[[d1_databases]]
binding = "CONFIG"
database_name = "conduit"
`;

describe("setBindingField", () => {
	it("adds the line under the right binding of the right table, keeping comments", () => {
		const updated = setBindingField(
			TOML,
			"kv_namespaces",
			"IDENTITY_CACHE",
			"id",
			"abc123",
		);
		expect(updated).toBe(
			TOML.replace(
				"  binding = 'IDENTITY_CACHE'\n",
				"  binding = 'IDENTITY_CACHE'\n  id = \"abc123\"\n",
			),
		);
		expect(updated).toContain("# the config document");
		// A binding of the same name in another table is left alone.
		const both = setBindingField(
			updated,
			"d1_databases",
			"CONFIG",
			"database_id",
			"d1-id",
		);
		expect(parse(both)).toMatchObject({
			kv_namespaces: [
				{ binding: "CONFIG" },
				{ binding: "IDENTITY_CACHE", id: "abc123" },
			],
			d1_databases: [{ binding: "CONFIG", database_id: "d1-id" }],
		});
		expect(
			(parse(both) as { kv_namespaces: object[] }).kv_namespaces[0],
		).not.toHaveProperty("id");
	});

	it("changes nothing when the value is already there", () => {
		const once = setBindingField(TOML, "kv_namespaces", "CONFIG", "id", "abc");
		expect(setBindingField(once, "kv_namespaces", "CONFIG", "id", "abc")).toBe(
			once,
		);
	});

	it("refuses to replace another value, and says what to write by hand", () => {
		const once = setBindingField(TOML, "kv_namespaces", "CONFIG", "id", "abc");
		expect(() =>
			setBindingField(once, "kv_namespaces", "CONFIG", "id", "other"),
		).toThrow('wrangler.toml already gives CONFIG id = "abc"');
	});

	it("refuses a binding written as an inline table, with the line to add", () => {
		const inline = 'name = "w"\nkv_namespaces = [{ binding = "CONFIG" }]\n';
		expect(() =>
			setBindingField(inline, "kv_namespaces", "CONFIG", "id", "abc"),
		).toThrow(
			'add `id = "abc"` to the [[kv_namespaces]] entry with binding = "CONFIG"',
		);
	});
});
