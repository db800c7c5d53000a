import { describe, expect, it } from "vitest";
import { routePath } from "./paths";

const path = (p: string) => routePath(new Request(`https://c.example${p}`));

describe("routePath", () => {
	it("maps analytics.js's one-letter paths and /v1/b to the canonical routes", () => {
		expect(
			["t", "p", "i", "s", "g", "a", "b"].map((l) => path(`/v1/${l}`)),
		).toEqual([
			"/v1/track",
			"/v1/page",
			"/v1/identify",
			"/v1/screen",
			"/v1/group",
			"/v1/alias",
			"/v1/batch",
		]);
	});

	it("maps rudder-sdk-js's beacon path, keeping nothing of the query", () => {
		expect(path("/beacon/v1/batch?writeKey=wk")).toBe("/v1/batch");
	});

	it("drops trailing slashes, before and after mapping", () => {
		expect(path("/v1/import/")).toBe("/v1/import");
		expect(path("/v1/t/")).toBe("/v1/track");
		expect(path("/sourceConfig//?p=npm")).toBe("/sourceConfig");
		expect(path("/")).toBe("/");
	});

	it("leaves other paths alone", () => {
		expect(path("/v1/track")).toBe("/v1/track");
		expect(path("/v1/tr")).toBe("/v1/tr");
		expect(path("/v1/profiles/u1")).toBe("/v1/profiles/u1");
	});
});
