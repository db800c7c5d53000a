import type { Source } from "../config/schema";

/**
 * How far a source's writes are trusted when they conflict with another source's: `client`
 * sources hand their write key to devices (a browser page, a mobile app), so anyone can send
 * with it; `server` sources keep theirs on machines the team runs.
 */
export type SourceTrust = "client" | "server";

/**
 * The rank stored with each trait (`trust_rank`): a write never replaces a value of a higher
 * rank, whatever its time. Rows written before ranks existed have 0, the client rank.
 */
export const TRUST_RANK: Readonly<Record<SourceTrust, number>> = {
	client: 0,
	server: 1,
};

/**
 * A source's trust: its `trust` setting, else `client` when it allows browser origins (its
 * key is in a web page, so it is public) and `server` when it allows none (browsers are
 * refused, so the key is meant to stay on a server). A source no longer in the config is a
 * client: the least trusted. Mobile and desktop apps send no Origin, so their sources must say
 * `"trust": "client"` themselves.
 *
 * @example
 * sourceTrust({ allowedOrigins: ["https://shop.example.com"] }) // "client"
 * sourceTrust({ allowedOrigins: [] }) // "server"
 * sourceTrust({ allowedOrigins: [], trust: "client" }) // "client"
 */
export function sourceTrust(
	source: Pick<Source, "allowedOrigins" | "trust"> | undefined,
): SourceTrust {
	if (!source) return "client";
	if (source.trust) return source.trust;
	return source.allowedOrigins.length > 0 ? "client" : "server";
}
