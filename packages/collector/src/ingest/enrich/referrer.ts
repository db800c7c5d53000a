import { parsedUrl } from "./url";

/** Where a visit came from, as channel reports group it. */
export type ReferrerType =
	| "search"
	| "social"
	| "email"
	| "internal"
	| "direct"
	| "other";

/* Host suffixes per channel; a host matches its entry or any subdomain of it. */
const EMAIL = [
	"mail.google.com",
	"outlook.live.com",
	"outlook.office.com",
	"outlook.office365.com",
	"mail.yahoo.com",
	"mail.proton.me",
	"mail.aol.com",
	"mail.zoho.com",
	"webmail",
];
const SEARCH = [
	"google",
	"bing.com",
	"duckduckgo.com",
	"search.yahoo.com",
	"yahoo.com",
	"baidu.com",
	"yandex",
	"ecosia.org",
	"search.brave.com",
	"startpage.com",
	"qwant.com",
	"naver.com",
	"seznam.cz",
	"kagi.com",
];
const SOCIAL = [
	"facebook.com",
	"fb.com",
	"t.co",
	"twitter.com",
	"x.com",
	"linkedin.com",
	"lnkd.in",
	"instagram.com",
	"reddit.com",
	"pinterest.com",
	"youtube.com",
	"tiktok.com",
	"threads.net",
	"bsky.app",
	"snapchat.com",
	"tumblr.com",
	"vk.com",
	"news.ycombinator.com",
	"quora.com",
	"discord.com",
	"telegram.org",
	"t.me",
];

/**
 * Classifies a page's referrer. `internal` means the same site (ignoring `www.`); an empty
 * referrer is `direct`; `utm_medium=email` marks email even when the mail client hid the referrer.
 *
 * @example
 * classifyReferrer("https://www.google.com/", "https://shop.example.com/") // { type: "search", host: "www.google.com" }
 */
export function classifyReferrer(
	referrer: string | undefined,
	pageUrl: string | undefined,
	utmMedium?: string,
): { type: ReferrerType; host?: string } {
	if (utmMedium?.toLowerCase() === "email")
		return { type: "email", ...hostOf(referrer) };
	if (!referrer) return { type: "direct" };
	const host = parsedUrl(referrer)?.hostname.toLowerCase();
	if (!host) return { type: "other" };
	const pageHost = pageUrl
		? parsedUrl(pageUrl)?.hostname.toLowerCase()
		: undefined;
	if (pageHost && stripWww(pageHost) === stripWww(host))
		return { type: "internal", host };
	return { type: channelOf(host), host };
}

/** Hosts seen recently and their channel: referrers repeat, the list lookups need not. */
const channels = new Map<string, ReferrerType>();
const CHANNEL_CACHE_LIMIT = 1000;

function channelOf(host: string): ReferrerType {
	const known = channels.get(host);
	if (known) return known;
	const type: ReferrerType = matches(host, EMAIL)
		? "email"
		: matches(host, SEARCH)
			? "search"
			: matches(host, SOCIAL)
				? "social"
				: "other";
	if (channels.size >= CHANNEL_CACHE_LIMIT) channels.clear();
	channels.set(host, type);
	return type;
}

function hostOf(referrer: string | undefined): { host?: string } {
	const host = referrer ? parsedUrl(referrer)?.hostname : undefined;
	return host ? { host } : {};
}

function stripWww(host: string): string {
	return host.startsWith("www.") ? host.slice(4) : host;
}

/** `google` (no dot) matches any google.<tld>; dotted entries match the host or a subdomain. */
function matches(host: string, list: readonly string[]): boolean {
	const labels = host.split(".");
	return list.some((entry) => {
		if (!entry.includes(".")) return labels.slice(0, -1).includes(entry);
		return host === entry || host.endsWith(`.${entry}`);
	});
}
