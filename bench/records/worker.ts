/**
 * The workerd side of `npm run bench:records`: encodes the events it is sent `loops` times in
 * the chosen format and answers the last body's size. The caller times the request from outside
 * (in workerd, clocks stand still between I/O), against a `loops=0` request as the baseline.
 */

import type { QueuedEvent } from "../../packages/collector/src/event";
import {
	recordKey,
	recordPartition,
} from "../../packages/collector/src/records/key";
import { recordObjects } from "../../packages/collector/src/records/records";

export default {
	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		const format = url.searchParams.get("format");
		const loops = Number(url.searchParams.get("loops"));
		const events = (await request.json()) as QueuedEvent[];
		let bytes = 0;
		for (let i = 0; i < loops; i++) {
			if (format === "parquet") {
				const objects = await recordObjects(events);
				bytes = objects.reduce((sum, o) => sum + o.body.byteLength, 0);
			} else {
				bytes = (await gzipNdjson(events)).byteLength;
			}
		}
		return Response.json({ bytes });
	},
};

/**
 * The alternative format: one JSON line per event with its source, gzip-compressed (the
 * archive destination's format), keyed like the Parquet objects so both pay for the key hash.
 * The events are of one partition (the bench sends one hour of one source).
 *
 * @example
 * const body = await gzipNdjson(events); // gzip bytes
 */
export async function gzipNdjson(
	events: readonly QueuedEvent[],
): Promise<ArrayBuffer> {
	const first = events[0];
	if (first)
		await recordKey(
			recordPartition(first.sourceId, first.event.receivedAt),
			events.map((e) => [e.sourceId, e.event.messageId] as const),
		);
	const lines = events.map((e) =>
		JSON.stringify({ sourceId: e.sourceId, ...e.event }),
	);
	// The archive's gzipText, inline: its module needs the Workers types, this file runs in Node too.
	const gzipped = new Blob([`${lines.join("\n")}\n`])
		.stream()
		.pipeThrough(new CompressionStream("gzip"));
	return new Response(gzipped).arrayBuffer();
}
