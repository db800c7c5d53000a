import ipaddr from "ipaddr.js";

/** What a source keeps of a client's IP address. */
export type IpPolicy = "full" | "truncate" | "none";

/**
 * Applies a source's IP policy. `truncate` keeps the network part only — IPv4 /24 and IPv6 /48,
 * the prefixes Google Analytics and Matomo anonymise to — so location stays coarse and the host
 * is gone. An IPv4-mapped IPv6 address is treated as IPv4. Anything that is not an IP → undefined.
 *
 * @example
 * applyIpPolicy("203.0.113.77", "truncate")          // "203.0.113.0"
 * applyIpPolicy("2001:db8:85a3:8d3::1", "truncate")  // "2001:db8:85a3::"
 */
export function applyIpPolicy(
	ip: string | undefined,
	policy: IpPolicy,
): string | undefined {
	if (!ip || policy === "none") return undefined;
	// A request's events share its address: parse it once.
	if (last.ip === ip && last.policy === policy) return last.result;
	last = { ip, policy, result: apply(ip, policy) };
	return last.result;
}

let last: { ip?: string; policy?: IpPolicy; result?: string } = {};

function apply(
	ip: string,
	policy: Exclude<IpPolicy, "none">,
): string | undefined {
	if (!ipaddr.isValid(ip)) return undefined;
	const address = ipaddr.process(ip);
	if (policy === "full") return address.toString();
	if (address.kind() === "ipv4") {
		const [a, b, c] = (address as ipaddr.IPv4).octets;
		return `${a}.${b}.${c}.0`;
	}
	const parts = (address as ipaddr.IPv6).parts.map((part, index) =>
		index < 3 ? part : 0,
	);
	return new ipaddr.IPv6(parts).toString();
}
