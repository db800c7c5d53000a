import { describe, expect, it } from "vitest";
import { basicUsername } from "./write-key-auth";

describe("basicUsername", () => {
	it("reads the username with or without the trailing colon", () => {
		expect(basicUsername(`Basic ${btoa("wk_123:")}`)).toBe("wk_123");
		expect(basicUsername(`Basic ${btoa("wk_123")}`)).toBe("wk_123");
		expect(basicUsername(`basic ${btoa("wk_123:ignored")}`)).toBe("wk_123");
	});

	it("returns undefined for other schemes or an empty username", () => {
		expect(basicUsername(undefined)).toBeUndefined();
		expect(basicUsername("Bearer abc")).toBeUndefined();
		expect(basicUsername(`Basic ${btoa(":")}`)).toBeUndefined();
	});

	it("throws 401 for invalid base64", () => {
		expect(() => basicUsername("Basic %%%")).toThrow("not valid base64");
	});
});
