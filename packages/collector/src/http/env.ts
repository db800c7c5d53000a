import type { WireObject } from "@conduit/protocol";
import type { LoadedConfig, Source } from "../config/schema";

/**
 * Hono environment of the collector app: bindings and the typed context variables the
 * middleware sets (`c.get("source")`).
 *
 * @example
 * const app = new Hono<AppEnv>();
 */
export interface AppEnv {
	Bindings: Env;
	Variables: {
		config: LoadedConfig;
		source: Source;
		body: WireObject;
		requestId: string;
	};
}
