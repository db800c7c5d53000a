/** Page and referrer URLs repeat across a visitor's events; parsing each once is enough. */
const CACHE_LIMIT = 500;
const cache = new Map<string, URL | null>();

/**
 * Parses a URL, or returns undefined when it is not one. Results are cached per isolate and
 * shared: callers only read them.
 *
 * @example
 * parsedUrl("https://shop.example.com/?utm_source=x")?.searchParams.get("utm_source") // "x"
 */
export function parsedUrl(url: string): Readonly<URL> | undefined {
	let parsed = cache.get(url);
	if (parsed === undefined) {
		parsed = URL.parse(url);
		if (cache.size >= CACHE_LIMIT) cache.clear();
		cache.set(url, parsed);
	}
	return parsed ?? undefined;
}
