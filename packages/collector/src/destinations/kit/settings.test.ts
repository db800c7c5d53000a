import { describe, expect, it } from "vitest";
import { joinUrl } from "./settings";

describe("joinUrl", () => {
	it("joins an endpoint, with or without a path prefix and trailing slashes, and an API path", () => {
		expect(joinUrl("https://api.mixpanel.com", "/import")).toBe(
			"https://api.mixpanel.com/import",
		);
		expect(joinUrl("http://127.0.0.1:4100/t/abc///", "/import?strict=1")).toBe(
			"http://127.0.0.1:4100/t/abc/import?strict=1",
		);
		expect(joinUrl("", "/x")).toBe("/x");
	});

	it("takes an endpoint of 40,000 slashes as it is: only the trailing run goes (finding 9)", () => {
		const run = "/".repeat(40_000);
		expect(joinUrl(`https://h.example${run}`, "/batch/")).toBe(
			"https://h.example/batch/",
		);
		const inner = `https://h.example${run}a`;
		expect(joinUrl(`${inner}${run}`, "/batch/")).toBe(`${inner}/batch/`);
	});
});
