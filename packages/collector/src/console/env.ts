import type { Session } from "./session";

/**
 * The console's Hono environment: the Worker's bindings and the signed-in session.
 *
 * @example
 * const routes = new Hono<ConsoleEnv>();
 */
export interface ConsoleEnv {
	Bindings: Env;
	Variables: { session: Session };
}
