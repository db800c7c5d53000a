import type { WireObject } from "@conduit/protocol";
import UAParser from "ua-parser-js";

/** Browser, OS and device parsed from a user-agent string, in Segment's context shape. */
export interface ParsedUserAgent {
	browser?: { name: string; version?: string };
	os?: { name: string; version?: string };
	device?: { type: string; manufacturer?: string; model?: string };
	isBot: boolean;
}

/*
 * Bot and tool signatures. The field-standard list (isbot) is Unlicense-licensed, outside the
 * MIT/Apache/BSD/ISC set this project ships, so the common tokens are listed here: generic
 * crawler words, headless browsers, link unfurlers, monitors and HTTP client libraries.
 */
const BOT_PATTERN =
	/(?<!cu)bot\b|(?<!cu)bot[/;_-]|crawl|spider|slurp|scrap|headless|lighthouse|pagespeed|pingdom|uptime|monitor|preview|facebookexternalhit|whatsapp|embedly|phantomjs|selenium|webdriver|puppeteer|playwright|curl\/|wget\/|python-|httpclient|http-client|okhttp|axios\/|node-fetch|undici|go-http|java\/|libwww|feedfetcher|rss|^$/i;

/** Parsing is the costly part of enrichment and one browser sends many events: keep recent results. */
const CACHE_LIMIT = 500;
const cache = new Map<string, ParsedUserAgent>();

/**
 * Parses a user agent (cached per isolate).
 *
 * @example
 * parseUserAgent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) … Safari/604.1")
 * // { browser: { name: "Mobile Safari", version: "18.1" }, os: { name: "iOS", version: "18.1" },
 * //   device: { type: "mobile", manufacturer: "Apple", model: "iPhone" }, isBot: false }
 */
export function parseUserAgent(userAgent: string): ParsedUserAgent {
	const hit = cache.get(userAgent);
	if (hit) return hit;
	const parsed = parse(userAgent);
	if (cache.size >= CACHE_LIMIT) cache.clear();
	cache.set(userAgent, parsed);
	return parsed;
}

function parse(userAgent: string): ParsedUserAgent {
	const isBot = BOT_PATTERN.test(userAgent.trim());
	const { browser, os, device } = new UAParser(userAgent).getResult();
	const result: ParsedUserAgent = { isBot };
	if (browser.name)
		result.browser = compact({ name: browser.name, version: browser.version });
	if (os.name) result.os = compact({ name: os.name, version: os.version });
	if (!isBot) {
		result.device = compact({
			type: device.type ?? "desktop",
			manufacturer: device.vendor,
			model: device.model,
		});
	}
	return result;
}

function compact<T extends WireObject>(object: T): T {
	for (const key of Object.keys(object))
		if (object[key] === undefined) delete object[key];
	return object;
}
