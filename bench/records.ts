/**
 * Events-of-record format benchmark: `npm run bench:records`.
 *
 * Encodes batches of 100 and 1,000 stored events (the fixture events through the real
 * enrichment, each with a profileId) as the two candidate R2 formats — Parquet
 * (records/records.ts: typed columns + the event as JSON, Snappy) and gzip NDJSON (one JSON line
 * per event, CompressionStream) — and prints, per format and batch size:
 *
 * - CPU ms per event in Node (process.cpuUsage around a loop of encodings);
 * - ms per event inside workerd (wrangler's test harness running bench/records/worker.ts): the request that
 *   encodes `loops` times, timed from outside, less a request that encodes nothing (clocks in
 *   workerd stand still between I/O, so the Worker cannot time itself);
 * - bytes per event of the object body, and of its typed columns alone (what a query that does
 *   not touch `payload` reads of a Parquet object);
 * - whether DuckDB (@duckdb/node-api) reads the objects from a Hive-partitioned folder and counts
 *   every event per type.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetMetadata } from "hyparquet";
import { createTestHarness, type WorkerHandle } from "wrangler";
import type { QueuedEvent } from "../packages/collector/src/event";
import { recordObjects } from "../packages/collector/src/records/records";
import { storedEvents } from "../packages/collector/test/helpers/stored-events";
import { fixture } from "./records/events";
import { gzipNdjson } from "./records/worker";

// Everything stays on this machine: no fetch of a real `request.cf` object.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const SIZES = [100, 1000];
/** Events encoded per timed loop, whatever the batch size: bounded, about a second each. */
const EVENTS_PER_RUN = 20_000;
const RUNS = 3;

type Format = "parquet" | "ndjson.gz";
const FORMATS: Format[] = ["parquet", "ndjson.gz"];

async function encode(
	format: Format,
	events: QueuedEvent[],
): Promise<Uint8Array> {
	if (format === "parquet") {
		const [object] = await recordObjects(events);
		if (!object) throw new Error("no object");
		return object.body;
	}
	return new Uint8Array(await gzipNdjson(events));
}

/** Node: CPU ms per event, the best of RUNS runs. */
async function nodeCpu(format: Format, events: QueuedEvent[]): Promise<number> {
	const loops = Math.max(1, EVENTS_PER_RUN / events.length);
	for (let i = 0; i < 3; i++) await encode(format, events);
	let best = Number.POSITIVE_INFINITY;
	for (let run = 0; run < RUNS; run++) {
		const before = process.cpuUsage();
		for (let i = 0; i < loops; i++) await encode(format, events);
		const used = process.cpuUsage(before);
		best = Math.min(
			best,
			(used.user + used.system) / 1000 / loops / events.length,
		);
	}
	return best;
}

/** workerd: ms per event, the best of RUNS runs, less an empty request's time. */
async function workerdMs(
	worker: WorkerHandle,
	format: Format,
	events: QueuedEvent[],
): Promise<number> {
	const body = JSON.stringify(events);
	const time = async (loops: number) => {
		const start = performance.now();
		const response = await worker.fetch(
			`http://bench/?format=${format}&loops=${loops}`,
			{ method: "POST", body },
		);
		if (!response.ok) throw new Error(await response.text());
		await response.json();
		return performance.now() - start;
	};
	const loops = Math.max(1, EVENTS_PER_RUN / events.length);
	await time(3);
	let best = Number.POSITIVE_INFINITY;
	for (let run = 0; run < RUNS; run++) {
		const empty = await time(0);
		best = Math.min(
			best,
			((await time(loops)) - empty) / loops / events.length,
		);
	}
	return best;
}

/** DuckDB: counts per type over a Hive-partitioned folder of objects, compared to the events. */
async function duckdbReads(
	format: Format,
	objects: { key: string; body: Uint8Array }[],
	events: QueuedEvent[],
): Promise<string> {
	const dir = mkdtempSync(join(tmpdir(), "conduit-records-bench-"));
	try {
		for (const { key, body } of objects) {
			const path = join(dir, key);
			mkdirSync(join(path, ".."), { recursive: true });
			writeFileSync(path, body);
		}
		const glob = `${dir}/events/**/*.${format === "parquet" ? "parquet" : "ndjson.gz"}`;
		const from =
			format === "parquet"
				? `read_parquet('${glob}', hive_partitioning = true)`
				: `read_json('${glob}', format = 'newline_delimited', compression = 'gzip', hive_partitioning = true)`;
		const db = await DuckDBInstance.create(":memory:");
		const connection = await db.connect();
		const reader = await connection.runAndReadAll(
			`SELECT type, count(*)::INTEGER AS n, count(DISTINCT messageId)::INTEGER AS ids FROM ${from} GROUP BY type ORDER BY type`,
		);
		const got = reader.getRowObjects() as {
			type: string;
			n: number;
			ids: number;
		}[];
		connection.closeSync();
		const want = new Map<string, number>();
		for (const { event } of events)
			want.set(event.type, (want.get(event.type) ?? 0) + 1);
		const ok =
			got.length === want.size &&
			got.every((row) => want.get(row.type) === row.n && row.ids === row.n);
		return ok ? "yes" : `NO: ${JSON.stringify(got)}`;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const server = createTestHarness({
		root: join(import.meta.dirname, "records"),
		workers: [{ configPath: "./wrangler.toml" }],
	});
	await server.listen();
	const worker = server.getWorker();
	const rows: Record<string, string | number>[] = [];
	try {
		for (const size of SIZES) {
			const events = storedEvents(fixture(), size);
			for (const format of FORMATS) {
				const body = await encode(format, events);
				const objects =
					format === "parquet"
						? await recordObjects(events)
						: [
								{
									key: `events/source=web/dt=2026-11-01/hour=08/b.ndjson.gz`,
									body,
								},
							];
				rows.push({
					format,
					events: size,
					"node CPU µs/event": round((await nodeCpu(format, events)) * 1000),
					"workerd µs/event": round(
						(await workerdMs(worker, format, events)) * 1000,
					),
					"bytes/event": round(body.byteLength / size),
					"typed columns bytes/event":
						format === "parquet" ? round(typedBytes(body) / size) : "-",
					"DuckDB reads": await duckdbReads(format, objects, events),
				});
			}
		}
	} finally {
		await server.close();
	}
	console.table(rows);
}

/** Compressed bytes of the typed columns (all but `payload`): what a query that skips it reads. */
function typedBytes(body: Uint8Array): number {
	const metadata = parquetMetadata(body.slice().buffer);
	let bytes = 0;
	for (const group of metadata.row_groups)
		for (const chunk of group.columns)
			if (chunk.meta_data && chunk.meta_data.path_in_schema[0] !== "payload")
				bytes += Number(chunk.meta_data.total_compressed_size);
	return bytes;
}

function round(value: number): number {
	return Math.round(value * 10) / 10;
}

await main();
