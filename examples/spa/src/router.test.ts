import { describe, expect, it } from "vitest";
import { matchRoute } from "./router";

const ROUTES = [
	{ name: "Home", pattern: "/" },
	{ name: "Product", pattern: "/products/:sku" },
	{ name: "Account", pattern: "/account" },
];

describe("matchRoute", () => {
	it("matches static and parameterised paths, decoding params", () => {
		expect(matchRoute(ROUTES, "/", "Not Found")).toEqual({
			name: "Home",
			path: "/",
			params: {},
		});
		expect(matchRoute(ROUTES, "/products/GR%C3%9CN%201", "Not Found")).toEqual({
			name: "Product",
			path: "/products/GR%C3%9CN%201",
			params: { sku: "GRÜN 1" },
		});
	});

	it("falls back when segments differ in number or a param is empty", () => {
		for (const path of [
			"/products",
			"/products/",
			"/products/a/b",
			"/accounts",
		])
			expect(matchRoute(ROUTES, path, "Not Found").name).toBe("Not Found");
	});
});
