import { describe, expect, it } from "vitest";
import { applyIpPolicy } from "./ip";

describe("applyIpPolicy", () => {
	it("keeps the whole address under 'full'", () => {
		expect(applyIpPolicy("203.0.113.77", "full")).toBe("203.0.113.77");
		expect(applyIpPolicy("2001:db8:85a3:8d3:1319:8a2e:370:7348", "full")).toBe(
			"2001:db8:85a3:8d3:1319:8a2e:370:7348",
		);
	});

	it("truncates IPv4 to /24 and IPv6 to /48", () => {
		expect(applyIpPolicy("203.0.113.77", "truncate")).toBe("203.0.113.0");
		expect(
			applyIpPolicy("2001:db8:85a3:8d3:1319:8a2e:370:7348", "truncate"),
		).toBe("2001:db8:85a3::");
		expect(applyIpPolicy("2001:db8::1", "truncate")).toBe("2001:db8::");
	});

	it("treats an IPv4-mapped IPv6 address as IPv4", () => {
		expect(applyIpPolicy("::ffff:198.51.100.9", "truncate")).toBe(
			"198.51.100.0",
		);
	});

	it("drops the address under 'none' and drops anything that is not an IP", () => {
		expect(applyIpPolicy("203.0.113.77", "none")).toBeUndefined();
		expect(applyIpPolicy("not-an-ip", "full")).toBeUndefined();
		expect(applyIpPolicy("999.1.1.1", "truncate")).toBeUndefined();
		expect(applyIpPolicy(undefined, "full")).toBeUndefined();
	});
});
