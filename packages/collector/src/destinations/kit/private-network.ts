import ipaddr from "ipaddr.js";

/**
 * Names that resolve inside the machine or the local network rather than on the internet:
 * RFC 6761 `localhost`, RFC 6762 `.local` (mDNS), RFC 8375 `.home.arpa`, ICANN's `.internal`
 * (reserved for private use in 2024; cloud metadata services such as
 * `metadata.google.internal` live there).
 */
const INTERNAL_SUFFIXES = [".localhost", ".local", ".home.arpa", ".internal"];

/**
 * Why a URL host (as `new URL(…).hostname` gives it) is not a public internet host, or
 * undefined when it is. IP literals are judged by ipaddr.js's ranges: only global unicast
 * passes, so private, loopback, link-local (169.254.169.254 is the cloud metadata address),
 * carrier-grade NAT, unspecified, multicast, reserved, unique-local and the IPv6 ranges that
 * embed an IPv4 address (IPv4-mapped is judged by the address it embeds) are refused. The URL
 * parser has already turned `2130706433`, `0x7f.1` and `[::ffff:127.0.0.1]` into their
 * canonical forms. Names are judged by their form only (no DNS lookup): `localhost`, the
 * suffixes above, and single-label names, which resolvers complete with the local search
 * domain.
 *
 * @example
 * privateHostReason("169.254.169.254") // "169.254.169.254 is a link-local address"
 * privateHostReason("[::1]")           // "::1 is a loopback address"
 * privateHostReason("api.mixpanel.com") // undefined
 */
export function privateHostReason(hostname: string): string | undefined {
	const host = hostname.toLowerCase().replace(/\.$/, "");
	const literal = host.startsWith("[") ? host.slice(1, -1) : host;
	if (ipaddr.isValid(literal)) return addressReason(ipaddr.parse(literal));
	if (host === "localhost") return "localhost is this machine";
	const suffix = INTERNAL_SUFFIXES.find((s) => host.endsWith(s));
	if (suffix) return `${host} is a local or internal name (*${suffix})`;
	if (!host.includes("."))
		return `${host} is a single-label name, resolved on the local network`;
	return undefined;
}

function addressReason(address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
	const range = address.range();
	if (address.kind() === "ipv6") {
		const v6 = address as ipaddr.IPv6;
		if (range === "ipv4Mapped") {
			const embedded = addressReason(v6.toIPv4Address());
			return embedded && `${v6.toString()} is IPv4-mapped: ${embedded}`;
		}
		// ::/96 holds the deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1); ipaddr.js
		// calls them unicast, but ::7f00:1 still names 127.0.0.1 to some stacks.
		if (range === "unicast" && v6.match(ipaddr.IPv6.parse("::"), 96))
			return `${v6.toString()} is an IPv4-compatible address`;
	}
	if (range === "unicast") return undefined;
	return `${address.toString()} is ${RANGE_NAMES.get(range) ?? `a special-purpose address (${range})`}`;
}

/** ipaddr.js range names, as the error message says them. */
const RANGE_NAMES = new Map([
	["unspecified", "an unspecified address"],
	["broadcast", "the broadcast address"],
	["multicast", "a multicast address"],
	["linkLocal", "a link-local address"],
	["loopback", "a loopback address"],
	["carrierGradeNat", "a carrier-grade NAT address"],
	["private", "a private address"],
	["reserved", "a reserved address"],
	["uniqueLocal", "a unique-local address"],
]);
