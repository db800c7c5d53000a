/**
 * A route: a name for analytics and titles, and a path pattern whose `:name` segments become
 * params (`/products/:sku`).
 */
export interface RouteDefinition {
	name: string;
	pattern: string;
}

/** The route the address bar shows now. */
export interface Match {
	name: string;
	path: string;
	params: Record<string, string>;
}

/** What a route change reports: the new route and the URL it replaced (absent on load). */
export interface RouteChange {
	route: Match;
	previousUrl?: string;
}

/**
 * Finds the first route whose pattern matches `path` segment by segment, or `fallback`.
 *
 * @example
 * matchRoute([{ name: "Product", pattern: "/products/:sku" }], "/products/ESP-250", "Not Found")
 * // { name: "Product", path: "/products/ESP-250", params: { sku: "ESP-250" } }
 */
export function matchRoute(
	routes: readonly RouteDefinition[],
	path: string,
	fallback: string,
): Match {
	const segments = path.split("/");
	for (const route of routes) {
		const parts = route.pattern.split("/");
		if (parts.length !== segments.length) continue;
		const params: Record<string, string> = {};
		const matches = parts.every((part, index) => {
			const segment = segments[index] ?? "";
			if (!part.startsWith(":")) return part === segment;
			if (segment === "") return false;
			params[part.slice(1)] = decodeURIComponent(segment);
			return true;
		});
		if (matches) return { name: route.name, path, params };
	}
	return { name: fallback, path, params: {} };
}

/**
 * A History API router: same-origin link clicks become `pushState`, and the back and forward
 * buttons (`popstate`) are followed. `onChange` runs once on start and once per route change —
 * the place for a page view — and never when only the fragment changes or a link points at the
 * page already shown.
 *
 * @example
 * const router = startRouter(routes, "Not Found", ({ route }) => {
 *   render(route);
 *   analytics.page(route.name);
 * });
 * router.navigate("/account");
 */
export function startRouter(
	routes: readonly RouteDefinition[],
	fallback: string,
	onChange: (change: RouteChange) => void,
): { navigate(path: string): void; current(): Match } {
	// Without the fragment: an in-page anchor is not a new page.
	const page = (url: URL | Location) => url.origin + url.pathname + url.search;
	let currentUrl = page(location);
	let route = matchRoute(routes, location.pathname, fallback);

	const changed = () => {
		const previousUrl = currentUrl;
		if (page(location) === previousUrl) return;
		currentUrl = page(location);
		route = matchRoute(routes, location.pathname, fallback);
		onChange({ route, previousUrl });
	};
	const navigate = (path: string) => {
		const target = new URL(path, location.href);
		if (page(target) === currentUrl) return;
		history.pushState(null, "", target);
		changed();
	};

	document.addEventListener("click", (event) => {
		const link =
			event.target instanceof Element ? event.target.closest("a") : null;
		if (
			!link ||
			link.origin !== location.origin ||
			link.target ||
			link.hasAttribute("download") ||
			event.button !== 0 ||
			event.metaKey ||
			event.ctrlKey ||
			event.shiftKey ||
			event.altKey ||
			event.defaultPrevented
		)
			return;
		const target = new URL(link.href);
		// Same page, other fragment: the browser scrolls, and it is no page view.
		if (page(target) === currentUrl && target.hash) return;
		event.preventDefault();
		navigate(link.href);
	});
	// Fired by the back and forward buttons (and history.back()), never by pushState.
	addEventListener("popstate", changed);

	onChange({ route });
	return { navigate, current: () => route };
}
