import { type Context, Hono, type MiddlewareHandler } from "hono";
import { loadConfig } from "../../config/load";
import type { Source } from "../../config/schema";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";
import { corsHeaders, corsPreflight, sourceCors } from "../middleware/cors";
import { basicUsername } from "../middleware/write-key-auth";

/*
 * The settings documents browser and mobile libraries fetch before they send anything, served
 * so that a library needs nothing but its host changed. Both name only the collector itself:
 * no destinations for the client to load, no metrics or error reports sent elsewhere.
 */

/** Settings change with the config; a minute of caching spares repeat page loads. */
const CACHE_CONTROL = "public, max-age=60";

/**
 * `GET /v1/projects/:writeKey/settings` and `GET /sourceConfig`.
 *
 * @example
 * app.route("/", settingsRoutes);
 * // analytics-next: AnalyticsBrowser.load({ writeKey, cdnURL: "https://collect.example.com" })
 */
export const settingsRoutes = new Hono<AppEnv>();

settingsRoutes.get(
	"/v1/projects/:writeKey/settings",
	corsHeaders(),
	sourceByKey((c) => c.req.param("writeKey")),
	sourceCors(),
	(c) =>
		c.json(segmentSettings(c.get("source"), new URL(c.req.url)), 200, {
			"Cache-Control": CACHE_CONTROL,
		}),
);

// rudder-sdk-js sends the write key as Basic auth, which makes its request need a preflight.
settingsRoutes.options("/sourceConfig", corsPreflight());
settingsRoutes.get(
	"/sourceConfig",
	corsHeaders(),
	sourceByKey(
		(c) =>
			basicUsername(c.req.header("authorization")) ?? c.req.query("writeKey"),
	),
	sourceCors(),
	(c) =>
		c.json(rudderSourceConfig(c.get("source")), 200, {
			"Cache-Control": CACHE_CONTROL,
		}),
);

/**
 * What analytics-next reads from `<cdnURL>/v1/projects/<writeKey>/settings` (its `CDNSettings`,
 * browser/settings.ts): the `Segment.io` integration with `apiHost` (host and the `/v1`
 * prefix; the library appends `/t`, `/p`… or `/b`) and `protocol` pointing back at this
 * collector. It is the only integration, so no device-mode destination is loaded; remote
 * metrics are off (sample rate 0) since they would go to Segment. analytics-swift, -kotlin
 * and -react-native read the same document from their `cdnHost` and take `apiHost` from it.
 *
 * @example
 * segmentSettings(source, new URL("https://collect.example.com/v1/projects/wk/settings"))
 * // { integrations: { "Segment.io": { apiKey: "wk", apiHost: "collect.example.com/v1", … } }, … }
 */
export function segmentSettings(source: Source, url: URL) {
	const apiHost = `${url.host}/v1`;
	return {
		integrations: {
			"Segment.io": {
				apiKey: source.writeKey,
				apiHost,
				protocol: url.protocol === "http:" ? "http" : "https",
				addBundledMetadata: true,
				unbundledIntegrations: [],
				bundledConfigIds: [],
				unbundledConfigIds: [],
				maybeBundledConfigIds: {},
			},
		},
		plan: {
			track: { __default: { enabled: true, integrations: {} } },
			identify: { __default: { enabled: true } },
			group: { __default: { enabled: true } },
		},
		edgeFunction: {},
		analyticsNextEnabled: true,
		middlewareSettings: {},
		enabledMiddleware: {},
		metrics: { sampleRate: 0, host: apiHost },
		legacyVideoPluginsEnabled: false,
		remotePlugins: [],
	};
}

/**
 * What rudder-sdk-js v3 reads from `<configUrl>/sourceConfig/` (its `isValidSourceConfig` wants
 * `source.id`, a `source.config` object and a `source.destinations` array): the source, enabled,
 * with no device-mode destinations and its own error and metrics reporting off.
 *
 * @example
 * rudderSourceConfig(source) // { isHosted: false, source: { id: "web", destinations: [], … } }
 */
export function rudderSourceConfig(source: Source) {
	return {
		isHosted: false,
		source: {
			id: source.id,
			name: source.name ?? source.id,
			writeKey: source.writeKey,
			workspaceId: "conduit",
			enabled: true,
			config: {
				statsCollection: {
					errors: { enabled: false },
					metrics: { enabled: false },
				},
			},
			destinations: [],
		},
	};
}

/**
 * Finds the enabled source whose write key `keyOf` reads from the request. No key → 401; a key
 * no enabled source has → 404, as Segment's CDN answers for an unknown project.
 */
function sourceByKey(
	keyOf: (c: Context<AppEnv>) => string | undefined,
): MiddlewareHandler<AppEnv> {
	return async function sourceByKey(c, next) {
		const writeKey = keyOf(c);
		if (!writeKey)
			throw new ApiError(
				401,
				"unauthorized",
				"Missing write key: send it as the HTTP Basic username or in the path",
			);
		const config = await loadConfig(c.env);
		const source = config.sourcesByWriteKey.get(writeKey);
		if (!source)
			throw new ApiError(
				404,
				"source_not_found",
				"No source has this write key",
			);
		c.set("config", config);
		c.set("source", source);
		await next();
	};
}
