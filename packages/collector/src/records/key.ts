import { batchKey } from "../hash";

/** Where the events of record live in their bucket. */
export const RECORDS_PREFIX = "events/";

/** The file extension of an events-of-record object. */
export const RECORDS_EXTENSION = "parquet";

/**
 * The Hive-style partition of an event of record: its source, and the UTC date and hour it was
 * received (`receivedAt` is the collector's clock, so a client's skewed `timestamp` never puts an
 * event in a far-off partition). DuckDB, Athena and Spark read `key=value` folders as columns.
 *
 * @example
 * recordPartition("web", "2026-11-01T08:15:00.000Z") // "source=web/dt=2026-11-01/hour=08"
 */
export function recordPartition(sourceId: string, receivedAt: string): string {
	const at = new Date(receivedAt).toISOString();
	return `source=${sourceId}/dt=${at.slice(0, 10)}/hour=${at.slice(11, 13)}`;
}

/**
 * The key of the object holding a set of events of one partition. Its name is a hash of the
 * events' sorted (source, messageId) pairs, so the same events — a redelivered batch, in any
 * order — always land at the same key and overwrite the object instead of adding a copy.
 *
 * @example
 * await recordKey("source=web/dt=2026-11-01/hour=08", [["web", "m2"], ["web", "m1"]])
 * // "events/source=web/dt=2026-11-01/hour=08/3b5d….parquet"
 */
export async function recordKey(
	partition: string,
	events: readonly (readonly [sourceId: string, messageId: string])[],
	prefix: string = RECORDS_PREFIX,
): Promise<string> {
	const sorted = [...events].sort(([s1, m1], [s2, m2]) =>
		s1 === s2 ? compareCodeUnits(m1, m2) : compareCodeUnits(s1, s2),
	);
	return `${prefix}${partition}/${await batchKey("", sorted)}.${RECORDS_EXTENSION}`;
}

/**
 * Code-unit order of strings: the same in every runtime and locale, unlike localeCompare.
 *
 * @example
 * ["b", "a"].sort(compareCodeUnits) // ["a", "b"]
 */
export function compareCodeUnits(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
