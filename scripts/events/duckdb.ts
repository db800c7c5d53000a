import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** The typed columns of the `events` view, then `payload` (records/parquet.ts). */
const COLUMNS = `messageId, sourceId, type, event, userId, anonymousId, profileId, "timestamp", receivedAt, payload`;

/** The `events` view over no objects at all: the same columns and types, no rows. */
const EMPTY = `SELECT NULL::VARCHAR AS messageId, NULL::VARCHAR AS sourceId, NULL::VARCHAR AS type,
  NULL::VARCHAR AS event, NULL::VARCHAR AS userId, NULL::VARCHAR AS anonymousId,
  NULL::VARCHAR AS profileId, NULL::TIMESTAMPTZ AS "timestamp", NULL::TIMESTAMPTZ AS receivedAt,
  NULL::JSON AS payload WHERE false`;

/** A row of a query's answer, in values JSON can carry. */
export type Row = Record<string, unknown>;

/**
 * A SQL string literal: DuckDB takes no parameters in DDL such as CREATE VIEW or CREATE SECRET.
 *
 * @example
 * sqlString("it's") // "'it''s'"
 */
export function sqlString(value: string): string {
	return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The statement that defines the `events` view over the Parquet objects under `glob`
 * (`dir/events/**\/*.parquet` or `r2://bucket/events/**\/*.parquet`), Hive partitions read but
 * not shown. `glob` undefined: there are no objects, and the view is empty.
 *
 * @example
 * eventsView("/tmp/x/events/**\/*.parquet") // "CREATE VIEW events AS SELECT messageId, … FROM read_parquet('/tmp/x/…', hive_partitioning = true)"
 */
export function eventsView(glob: string | undefined): string {
	const from =
		glob === undefined
			? EMPTY
			: `SELECT ${COLUMNS} FROM read_parquet(${sqlString(glob)}, hive_partitioning = true)`;
	return `CREATE VIEW events AS ${from}`;
}

/**
 * Opens an in-memory DuckDB, runs the setup statements (credentials, the `events` view), then
 * the query, and answers its rows: BIGINT and HUGEINT as numbers when they are safe integers
 * (as strings otherwise), timestamps as ISO strings in UTC, JSON columns parsed.
 *
 * @example
 * await runQuery([eventsView(glob)], "SELECT count(*) AS n FROM events") // [{ n: 815 }]
 */
export async function runQuery(
	setup: readonly string[],
	sql: string,
): Promise<Row[]> {
	const instance = await DuckDBInstance.create(":memory:");
	const connection = await instance.connect();
	try {
		// Timestamps are shown in UTC, as the collector writes them, whatever the machine's zone.
		await connection.run("SET TimeZone = 'UTC'");
		for (const statement of setup) await connection.run(statement);
		return await rowsOf(connection, sql);
	} finally {
		connection.closeSync();
		instance.closeSync();
	}
}

async function rowsOf(
	connection: DuckDBConnection,
	sql: string,
): Promise<Row[]> {
	const reader = await connection.runAndReadAll(sql);
	const names = reader.columnNames();
	const json = new Set(
		reader
			.columnTypes()
			.flatMap((type, i) => (type.alias === "JSON" ? [names[i]] : [])),
	);
	return reader.getRowObjectsJS().map((row) => {
		const out: Row = {};
		for (const [name, value] of Object.entries(row))
			out[name] =
				json.has(name) && typeof value === "string"
					? JSON.parse(value)
					: plain(value);
		return out;
	});
}

/** A DuckDB JS value as JSON can carry it. */
function plain(value: unknown): unknown {
	if (typeof value === "bigint")
		return value <= BigInt(Number.MAX_SAFE_INTEGER) &&
			value >= BigInt(Number.MIN_SAFE_INTEGER)
			? Number(value)
			: value.toString();
	if (value instanceof Date) return value.toISOString();
	if (Array.isArray(value)) return value.map(plain);
	if (value !== null && typeof value === "object")
		return Object.fromEntries(
			Object.entries(value).map(([k, v]) => [k, plain(v)]),
		);
	return value;
}
