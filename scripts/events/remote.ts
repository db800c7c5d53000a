import { sqlString } from "./duckdb";

/** The environment variables `--remote` reads. */
export const REMOTE_VARIABLES = [
	"R2_ACCOUNT_ID",
	"R2_ACCESS_KEY_ID",
	"R2_SECRET_ACCESS_KEY",
] as const;

/** Where `--remote` reads, from the environment. */
export interface RemoteTarget {
	accountId: string;
	accessKeyId: string;
	secretAccessKey: string;
	bucket: string;
}

/**
 * Reads the R2 S3 API credentials from the environment (an R2 API token's access key pair and
 * the account id) and the bucket: `R2_BUCKET`, else the bucket the binding names in
 * wrangler.toml. Throws an Error listing every variable that is missing.
 *
 * @example
 * remoteTarget({ R2_ACCOUNT_ID: "abc", R2_ACCESS_KEY_ID: "k", R2_SECRET_ACCESS_KEY: "s" }, "conduit-archive")
 * // { accountId: "abc", accessKeyId: "k", secretAccessKey: "s", bucket: "conduit-archive" }
 */
export function remoteTarget(
	env: NodeJS.ProcessEnv,
	configuredBucket: string | undefined,
): RemoteTarget {
	const missing: string[] = REMOTE_VARIABLES.filter((name) => !env[name]);
	const bucket = env.R2_BUCKET || configuredBucket;
	if (!bucket) missing.push("R2_BUCKET");
	if (missing.length > 0)
		throw new Error(
			`--remote reads R2 through its S3 API and needs ${missing.join(", ")} in the environment (an R2 API token's access key pair, from the Cloudflare dashboard: R2 → Manage API tokens)`,
		);
	return {
		accountId: env.R2_ACCOUNT_ID as string,
		accessKeyId: env.R2_ACCESS_KEY_ID as string,
		secretAccessKey: env.R2_SECRET_ACCESS_KEY as string,
		bucket: bucket as string,
	};
}

/**
 * The DuckDB statements that let a query read the bucket: the httpfs extension (DuckDB
 * downloads it from its extension repository on first use and keeps it in ~/.duckdb), and an
 * R2 secret, which DuckDB turns into the account's S3 endpoint. The objects' glob follows.
 *
 * @example
 * remoteSetup(target, "events/").glob // "r2://conduit-archive/events/**\/*.parquet"
 */
export function remoteSetup(
	target: RemoteTarget,
	prefix: string,
): { statements: string[]; glob: string } {
	return {
		statements: [
			"INSTALL httpfs",
			"LOAD httpfs",
			`CREATE SECRET conduit_r2 (TYPE r2, KEY_ID ${sqlString(target.accessKeyId)}, SECRET ${sqlString(target.secretAccessKey)}, ACCOUNT_ID ${sqlString(target.accountId)})`,
		],
		glob: `r2://${target.bucket}/${prefix}**/*.parquet`,
	};
}
