import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/schema";
import { sourceTrust, TRUST_RANK } from "./trust";

function loaded(source: Record<string, unknown>) {
	const result = parseConfig({
		version: 1,
		sources: [{ id: "s", writeKey: "wk_test_trust_0", ...source }],
	});
	if (!result.ok) throw new Error(result.errors.join("\n"));
	return result.config.sourcesById.get("s");
}

describe("sourceTrust", () => {
	it("makes a source that allows browser origins a client, and one that does not a server", () => {
		expect(
			sourceTrust(loaded({ allowedOrigins: ["https://shop.example.com"] })),
		).toBe("client");
		expect(sourceTrust(loaded({ allowedOrigins: ["*"] }))).toBe("client");
		expect(sourceTrust(loaded({}))).toBe("server");
	});

	it("takes the source's own setting over the default", () => {
		expect(sourceTrust(loaded({ trust: "client" }))).toBe("client");
		expect(
			sourceTrust(
				loaded({
					allowedOrigins: ["https://admin.example.com"],
					trust: "server",
				}),
			),
		).toBe("server");
	});

	it("trusts a source that is no longer configured least", () => {
		expect(sourceTrust(undefined)).toBe("client");
	});

	it("ranks server above client", () => {
		expect(TRUST_RANK.server).toBeGreaterThan(TRUST_RANK.client);
	});

	it("refuses any other value in the config", () => {
		const result = parseConfig({
			version: 1,
			sources: [{ id: "s", writeKey: "wk_test_trust_0", trust: "admin" }],
		});
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors[0]).toMatch(/^sources\.0\.trust: /);
	});
});
