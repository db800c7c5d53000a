// Worker secrets are not in wrangler.toml, so `npm run types` does not see them.
interface Env {
	/** Bearer token of the admin API (replay). `npx wrangler secret put ADMIN_TOKEN`; locally .dev.vars. */
	ADMIN_TOKEN?: string;
}
