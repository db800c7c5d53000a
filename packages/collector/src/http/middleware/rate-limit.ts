import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";

/**
 * Limits requests per source with the Workers Rate Limiting binding, keyed by source id. The
 * limit and period live in wrangler.toml (`[[ratelimits]]`); a source with `rateLimit: false`
 * is exempt. Over the limit → 429 with Retry-After (the period). The binding counts per
 * Cloudflare location and is eventually consistent: a guard against floods, not a quota.
 *
 * @example
 * app.post("/v1/batch", jsonBody(opts), writeKeyAuth(), rateLimit(), handler);
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
	return async function rateLimit(c, next) {
		const source = c.get("source");
		if (source.rateLimit) {
			const { success } = await c.env.RATE_LIMITER.limit({ key: source.id });
			if (!success) {
				const period = c.env.RATE_LIMIT_PERIOD_SECONDS;
				throw new ApiError(
					429,
					"rate_limited",
					`Source '${source.id}' is over its request limit; retry after ${period} s`,
					{
						"Retry-After": period,
					},
				);
			}
		}
		await next();
	};
}
