import type { Context } from "hono";
import { ApiError } from "../../errors";
import type { AppEnv } from "../env";
import { corsHeaders } from "../middleware/cors";

/**
 * The answer for a path no route serves: 404 JSON, with CORS headers for origins some source
 * allows, so a browser library sees a readable 404 instead of a network error it would retry
 * forever. Registered last, after every route.
 *
 * @example
 * app.all("*", ...notFound);
 */
export const notFound = [
	corsHeaders(),
	function notFound(c: Context<AppEnv>): never {
		throw new ApiError(
			404,
			"not_found",
			`No route for ${c.req.method} ${c.req.path}`,
		);
	},
] as const;
