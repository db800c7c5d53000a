import { describe, expect, it } from "vitest";
import { privateHostReason } from "./private-network";

/** The hostname as the URL parser leaves it, which is what the config check sees. */
const hostOf = (url: string) => new URL(url).hostname;

describe("privateHostReason", () => {
	it("refuses every private, loopback, link-local and internal form, IPv4 and IPv6", () => {
		const refused: [string, RegExp][] = [
			["http://169.254.169.254/latest/meta-data/", /link-local/],
			["http://10.0.0.1/", /private/],
			["http://172.16.0.1/", /private/],
			["http://172.31.255.254/", /private/],
			["http://192.168.1.1/", /private/],
			["http://100.64.0.1/", /carrier-grade NAT/],
			["http://127.0.0.1:4100/", /loopback/],
			["http://127.8.9.10/", /loopback/],
			["http://0.0.0.0/", /unspecified/],
			["http://0/", /unspecified/],
			["http://255.255.255.255/", /broadcast/],
			["http://224.0.0.1/", /multicast/],
			["http://240.0.0.1/", /reserved/],
			// Numeric forms the URL parser normalises to 127.0.0.1.
			["http://2130706433/", /127\.0\.0\.1 is a loopback/],
			["http://0x7f.1/", /loopback/],
			["http://017700000001/", /loopback/],
			["http://169.254.169.254./", /link-local/],
			["http://[::1]/", /::1 is a loopback/],
			["http://[::]/", /unspecified/],
			["http://[fc00::1]/", /unique-local/],
			["http://[fd12:3456::1]/", /unique-local/],
			["http://[fe80::1]/", /link-local/],
			["http://[::ffff:127.0.0.1]/", /IPv4-mapped: 127\.0\.0\.1 is a loopback/],
			["http://[::ffff:169.254.169.254]/", /IPv4-mapped: .*link-local/],
			["http://[::ffff:a00:1]/", /IPv4-mapped: 10\.0\.0\.1 is a private/],
			["http://[::127.0.0.1]/", /IPv4-compatible/],
			["http://[64:ff9b::a00:1]/", /special-purpose address \(rfc6052\)/],
			["http://[2002:a00:1::]/", /special-purpose address \(6to4\)/],
			["http://localhost:8787/", /localhost is this machine/],
			["http://LOCALHOST./", /localhost is this machine/],
			["http://api.localhost/", /\*\.localhost/],
			["http://printer.local/", /\*\.local/],
			["http://metadata.google.internal/", /\*\.internal/],
			["http://nas.home.arpa/", /\*\.home\.arpa/],
			["http://metadata/", /single-label/],
		];
		for (const [url, reason] of refused)
			expect(privateHostReason(hostOf(url)), url).toMatch(reason);
	});

	it("lets public hosts through", () => {
		for (const url of [
			"https://api.mixpanel.com/import",
			"https://hooks.example.com/in",
			"http://8.8.8.8/",
			"http://172.32.0.1/",
			"http://100.128.0.1/",
			"http://[2606:4700:4700::1111]/",
			"https://[::ffff:8.8.8.8]/",
			"https://xn--bcher-kva.example/",
		])
			expect(privateHostReason(hostOf(url)), url).toBeUndefined();
	});
});
