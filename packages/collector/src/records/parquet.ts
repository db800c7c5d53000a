import type { WireObject } from "@conduit/protocol";
import { gunzipSync, gzipSync } from "fflate";
import { parquetReadObjects, type SchemaElement } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { EnrichedEvent, QueuedEvent } from "../event";

/*
 * The Parquet layout of an events-of-record object: typed columns for what queries filter and
 * group on, and in `payload` (JSON) the rest of the event — every field a typed column does not
 * hold exactly, so that decoding gives back the very event that was encoded. messageIds and
 * timestamps are the least compressible part of an event: keeping them out of the payload
 * makes objects a third smaller (docs/scaling.md, "Events of record").
 * Timestamps are UTC instants in milliseconds (DuckDB reads them as TIMESTAMPTZ). Pages are
 * gzip-compressed with fflate, synchronously, as hyparquet-writer's codecs are called (a Worker
 * without nodejs_compat has no synchronous zlib); any Parquet reader decodes GZIP.
 */

/** The typed columns of an events-of-record object, in file order (then `payload`). */
export const RECORD_COLUMNS = [
	"messageId",
	"sourceId",
	"type",
	"event",
	"userId",
	"anonymousId",
	"profileId",
	"timestamp",
	"receivedAt",
] as const;

/** Top-level string fields that have a column of their own and leave the payload. */
const STRING_FIELDS = [
	"messageId",
	"type",
	"event",
	"userId",
	"anonymousId",
] as const;
/** Timestamp fields that leave the payload when their column gives them back exactly. */
const INSTANT_FIELDS = ["timestamp", "receivedAt"] as const;

const text = (name: string, required = false): SchemaElement => ({
	name,
	type: "BYTE_ARRAY",
	converted_type: "UTF8",
	repetition_type: required ? "REQUIRED" : "OPTIONAL",
});
const instant = (name: string): SchemaElement => ({
	name,
	type: "INT64",
	repetition_type: "REQUIRED",
	logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
});

const SCHEMA: SchemaElement[] = [
	{ name: "root", num_children: RECORD_COLUMNS.length + 1 },
	text("messageId", true),
	text("sourceId", true),
	text("type", true),
	text("event"),
	text("userId"),
	text("anonymousId"),
	text("profileId"),
	instant("timestamp"),
	instant("receivedAt"),
	{
		name: "payload",
		type: "BYTE_ARRAY",
		converted_type: "JSON",
		repetition_type: "REQUIRED",
	},
];

/**
 * The codecs hyparquet needs to read an events-of-record object (it has Snappy only built in).
 *
 * @example
 * await parquetReadObjects({ file, columns: ["type"], compressors: RECORD_DECOMPRESSORS })
 */
export const RECORD_DECOMPRESSORS = {
	GZIP: (input: Uint8Array, outputLength: number): Uint8Array =>
		gunzipSync(input, { out: new Uint8Array(outputLength) }),
};

/**
 * Encodes events as one Parquet file (one row group, gzip pages), rows in the order given.
 *
 * @example
 * const body = encodeParquet([{ sourceId: "web", event }]); // Uint8Array, "PAR1…PAR1"
 */
export function encodeParquet(events: readonly QueuedEvent[]): Uint8Array {
	const column = <T>(pick: (e: EnrichedEvent) => T): T[] =>
		events.map((e) => pick(e.event));
	const buffer = parquetWriteBuffer({
		schema: SCHEMA,
		codec: "GZIP",
		// mtime 0: the gzip header would otherwise carry the clock, and the same events must give
		// the same bytes.
		compressors: { GZIP: (input) => gzipSync(input, { mtime: 0 }) },
		columnData: [
			{ name: "messageId", data: column((e) => e.messageId) },
			{ name: "sourceId", data: events.map((e) => e.sourceId) },
			{ name: "type", data: column((e) => e.type) },
			{ name: "event", data: column((e) => stringOrNull(e.event)) },
			{ name: "userId", data: column((e) => stringOrNull(e.userId)) },
			{ name: "anonymousId", data: column((e) => stringOrNull(e.anonymousId)) },
			{
				name: "profileId",
				data: column((e) => stringOrNull(e.context.profileId)),
			},
			{ name: "timestamp", data: column((e) => new Date(e.timestamp)) },
			{ name: "receivedAt", data: column((e) => new Date(e.receivedAt)) },
			{ name: "payload", data: column(payloadOf) },
		],
		// One row group: an object holds one queue batch, at most a few thousand events.
		rowGroupSize: Math.max(1, events.length),
		createdBy: "conduit",
	});
	return new Uint8Array(buffer);
}

/**
 * Decodes an events-of-record Parquet file back to its events, in file order: each event is
 * the one encoded (the same fields and values; typed fields come first).
 *
 * @example
 * await decodeParquet(body) // [{ sourceId: "web", event: { messageId: "m1", type: "track", … } }]
 */
export async function decodeParquet(body: ArrayBuffer): Promise<QueuedEvent[]> {
	const rows = await parquetReadObjects({
		file: body,
		compressors: RECORD_DECOMPRESSORS,
	});
	return rows.map((row) => {
		const typed: WireObject = {};
		for (const field of STRING_FIELDS)
			if (typeof row[field] === "string") typed[field] = row[field];
		for (const field of INSTANT_FIELDS)
			typed[field] = (row[field] as Date).toISOString();
		// Spread, not Object.assign: a "__proto__" key stays a plain field.
		const event = { ...typed, ...(row.payload as WireObject) };
		return { sourceId: String(row.sourceId), event: event as EnrichedEvent };
	});
}

/** The event less what its columns give back exactly. */
function payloadOf(event: EnrichedEvent): WireObject {
	const payload: WireObject = { ...event };
	for (const field of STRING_FIELDS)
		if (typeof event[field] === "string") delete payload[field];
	for (const field of INSTANT_FIELDS)
		if (isCanonicalInstant(event[field])) delete payload[field];
	return payload;
}

/** Whether a timestamp reads back from its millisecond column as the same text. */
function isCanonicalInstant(value: string): boolean {
	const at = new Date(value);
	return !Number.isNaN(at.getTime()) && at.toISOString() === value;
}

function stringOrNull(value: unknown): string | null {
	return typeof value === "string" ? value : null;
}
