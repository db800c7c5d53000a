// Node scripts import the collector's pure modules (the config schema) but never its bindings;
// `Env` is named in those modules' types, so Node's type check only needs the name.
// (worker-configuration.d.ts cannot be used here: it imports the whole Worker for its types.)
type Env = Record<string, unknown>;

// The D1 binding as `npm run events -- migrate` uses it through wrangler's platform proxy: the
// collector's SQL modules it imports name these types.
interface D1Result<T = Record<string, unknown>> {
	results: T[];
	meta: { changes: number };
}
interface D1PreparedStatement {
	bind(...values: unknown[]): D1PreparedStatement;
	run<T = Record<string, unknown>>(): Promise<D1Result<T>>;
	first<T = Record<string, unknown>>(column?: string): Promise<T | null>;
}
interface D1Database {
	prepare(sql: string): D1PreparedStatement;
	batch<T = Record<string, unknown>>(
		statements: D1PreparedStatement[],
	): Promise<D1Result<T>[]>;
}
