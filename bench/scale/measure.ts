import type { BucketSize, D1Size } from "./local-state";

/**
 * Tables of the identity graph: they grow with people, not with events, and their writes are
 * "identity changes" in the budget (profiles, identifiers, traits, groups, merges, the
 * per-profile event counters, the computed traits and audience memberships, erasure's
 * records). Every other table is per-event state.
 */
export const IDENTITY_TABLES = new Set([
	"profiles",
	"identities",
	"profile_traits",
	"profile_event_counts",
	"profile_groups",
	"group_traits",
	"profile_merges",
	"identity_refusals",
	"identity_suppressions",
	"resolution_guard",
	"erased_profiles",
	"profile_deletions",
	"audience_profiles",
	"audience_guard",
	"audience_members",
	"audience_transitions",
]);

/**
 * The erasure index (which hour partitions of R2 hold which profile's events): a row per
 * (profile, partition), kept for the retention period. It grows with people × the hours they
 * were active, not with events, so it is measured per person apart from both other kinds.
 * Partition names (a row per partition, shared by its people) count in its bytes, not its rows.
 */
export const ERASURE_INDEX_TABLES = new Set([
	"archive_profile_partitions",
	"archive_partition_rewrites",
	"archive_partition_names",
]);
const PARTITION_NAMES = "archive_partition_names";

/**
 * One consumer invocation's usage line, as the Worker logs it (`UsageLine` in
 * packages/collector/src/queues/usage.ts; restated here because that file is typed for workerd).
 */
export interface UsageLine {
	msg: "usage";
	queue: string;
	messages: number;
	queueChunks: number;
	ms: number;
	d1: Record<
		string,
		{ statements: number; rowsRead: number; rowsWritten: number; ms: number }
	>;
	r2: Record<string, { classA: number; classB: number }>;
	sent: Record<string, { messages: number; chunks: number }>;
}

/** D1 usage summed over consumer invocations. */
export interface UsageTotals {
	invocations: Record<string, number>;
	messages: Record<string, number>;
	/** 64 KB chunks consumed: one read and one delete each, and one write when sent. */
	queueChunks: number;
	tables: Record<
		string,
		{ statements: number; rowsRead: number; rowsWritten: number; ms: number }
	>;
	r2ClassA: number;
	r2ClassB: number;
}

/**
 * Sums the consumers' usage lines.
 *
 * @example
 * sumUsage(dev.usage).tables.events.rowsWritten
 */
export function sumUsage(lines: readonly UsageLine[]): UsageTotals {
	const totals: UsageTotals = {
		invocations: {},
		messages: {},
		queueChunks: 0,
		tables: {},
		r2ClassA: 0,
		r2ClassB: 0,
	};
	for (const line of lines) {
		totals.invocations[line.queue] = (totals.invocations[line.queue] ?? 0) + 1;
		totals.messages[line.queue] =
			(totals.messages[line.queue] ?? 0) + line.messages;
		totals.queueChunks += line.queueChunks;
		for (const [table, usage] of Object.entries(line.d1)) {
			const sum = totals.tables[table] ?? {
				statements: 0,
				rowsRead: 0,
				rowsWritten: 0,
				ms: 0,
			};
			totals.tables[table] = sum;
			sum.statements += usage.statements;
			sum.rowsRead += usage.rowsRead;
			sum.rowsWritten += usage.rowsWritten;
			sum.ms += usage.ms;
		}
		for (const bucket of Object.values(line.r2)) {
			totals.r2ClassA += bucket.classA;
			totals.r2ClassB += bucket.classB;
		}
	}
	return totals;
}

/** A D1 measurement split into the identity graph, the erasure index and everything else. */
export interface D1Split {
	identityBytes: number;
	otherBytes: number;
	identityRows: number;
	otherRows: number;
	erasureIndexBytes: number;
	erasureIndexRows: number;
	profiles: number;
	/** Non-identity tables that still hold rows, with their row counts. */
	otherTables: Record<string, number>;
}

/**
 * Splits a D1 measurement into identity tables, the erasure index and per-event state.
 *
 * @example
 * splitD1(measureD1(state)).otherBytes
 */
export function splitD1(size: D1Size): D1Split {
	const split: D1Split = {
		identityBytes: 0,
		otherBytes: 0,
		identityRows: 0,
		otherRows: 0,
		erasureIndexBytes: 0,
		erasureIndexRows: 0,
		profiles: size.tables.profiles?.rows ?? 0,
		otherTables: {},
	};
	for (const [name, table] of Object.entries(size.tables)) {
		const bytes = table.tableBytes + table.indexBytes;
		if (IDENTITY_TABLES.has(name)) {
			split.identityBytes += bytes;
			split.identityRows += table.rows;
		} else if (ERASURE_INDEX_TABLES.has(name)) {
			split.erasureIndexBytes += bytes;
			if (name !== PARTITION_NAMES) split.erasureIndexRows += table.rows;
		} else {
			split.otherBytes += bytes;
			split.otherRows += table.rows;
			if (table.rows > 0) split.otherTables[name] = table.rows;
		}
	}
	return split;
}

/**
 * R2 totals over every bucket: objects, bytes, and the mean objects per hour partition.
 *
 * @example
 * sumR2(await measureR2(config, state)).objectsPerHour
 */
export function sumR2(buckets: Record<string, BucketSize>) {
	let objects = 0;
	let bytes = 0;
	const hours = new Set<string>();
	for (const bucket of Object.values(buckets)) {
		objects += bucket.objects;
		bytes += bucket.bytes;
		for (const hour of Object.keys(bucket.byHour)) hours.add(hour);
	}
	return {
		objects,
		bytes,
		hours: hours.size,
		objectsPerHour: hours.size > 0 ? objects / hours.size : 0,
	};
}
