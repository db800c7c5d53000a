import { browserRuntime } from "./runtime";
import { start } from "./start";
import type { Analytics, Options } from "./types";

export { SNIPPET } from "./snippet";
/** The public types: Options, Analytics, ConduitEvent, Middleware, Preferences, ConduitError… */
export type * from "./types";

/**
 * Creates the SDK. Safe to call during server-side rendering: outside a browser every method
 * does nothing. Create one instance per page.
 *
 * @example
 * import { createAnalytics } from "@conduit/sdk";
 *
 * const analytics = createAnalytics({ writeKey: "wk_…", endpoint: "https://collect.example.com" });
 * analytics.page();
 * analytics.track("Product Viewed", { sku: "A-1" });
 */
export function createAnalytics(options: Options): Analytics {
	return start(options, browserRuntime());
}
