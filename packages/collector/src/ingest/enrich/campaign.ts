import type { WireObject } from "@conduit/protocol";
import { parsedUrl } from "./url";

/** Query parameters → Segment `context.campaign` keys. Click ids keep their own names. */
const PARAMS: ReadonlyArray<readonly [string, string]> = [
	["utm_campaign", "name"],
	["utm_source", "source"],
	["utm_medium", "medium"],
	["utm_term", "term"],
	["utm_content", "content"],
	["gclid", "gclid"],
	["fbclid", "fbclid"],
	["msclkid", "msclkid"],
];

/**
 * Reads campaign parameters from a page URL (or its search string).
 *
 * @example
 * campaignFromUrl("https://shop.example.com/?utm_source=facebook&utm_campaign=retarget&fbclid=Iw")
 * // { name: "retarget", source: "facebook", fbclid: "Iw" }
 */
export function campaignFromUrl(
	url: string | undefined,
	search?: string,
): WireObject | undefined {
	const query = searchParams(url, search);
	if (!query) return undefined;
	const campaign: WireObject = {};
	let found = false;
	for (const [param, key] of PARAMS) {
		const value = query.get(param);
		if (value) {
			campaign[key] = value;
			found = true;
		}
	}
	return found ? campaign : undefined;
}

function searchParams(
	url: string | undefined,
	search: string | undefined,
): URLSearchParams | undefined {
	if (url) {
		const parsed = parsedUrl(url);
		if (parsed?.search) return parsed.searchParams;
	}
	return search ? new URLSearchParams(search) : undefined;
}
