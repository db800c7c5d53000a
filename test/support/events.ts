import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { getPlatformProxy } from "wrangler";
import type { QueuedEvent } from "../../packages/collector/src/event";
import { RECORDS_PREFIX } from "../../packages/collector/src/records/key";
import { readRecords } from "../../packages/collector/src/records/records";
import { run } from "../../scripts/events";
import { eventsView, runQuery } from "../../scripts/events/duckdb";
import { ROOT } from "../../scripts/wrangler";
import { type LocalCollector, waitUntil } from "./collector";

/** The R2 binding as the tests use it from Node. */
interface Bucket {
	list(options: { prefix?: string; cursor?: string }): Promise<{
		objects: { key: string }[];
		truncated: boolean;
		cursor?: string;
	}>;
	get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
	put(key: string, value: Uint8Array): Promise<unknown>;
}

/**
 * The whole event as JSON text, in the query command's SQL: the typed columns put back into the
 * payload (a null column removes its key, as the event never had it).
 */
export const EVENT_JSON = `json_merge_patch(payload, json_object(
  'messageId', messageId, 'type', type, 'event', event, 'userId', userId, 'anonymousId', anonymousId,
  'timestamp', strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%gZ'),
  'receivedAt', strftime(receivedAt, '%Y-%m-%dT%H:%M:%S.%gZ')))::VARCHAR`;

function recordsOf(collector: LocalCollector): Bucket {
	return (collector.env as unknown as { RECORDS: Bucket }).RECORDS;
}

async function keys(bucket: Bucket): Promise<string[]> {
	const found: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix: RECORDS_PREFIX, cursor });
		found.push(...page.objects.map((o) => o.key));
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return found;
}

/**
 * Polls the collector's events of record (decoded in Node) until `done` holds, at most 15 s —
 * cheap enough to poll; the assertions then go through {@link queryEvents}.
 *
 * @example
 * await waitForRecords(collector, (events) => events.length >= 4);
 */
export async function waitForRecords(
	collector: LocalCollector,
	done: (events: QueuedEvent[]) => boolean,
): Promise<QueuedEvent[]> {
	const bucket = recordsOf(collector);
	return waitUntil(async () => {
		const events: QueuedEvent[] = [];
		for (const key of await keys(bucket)) {
			const object = await bucket.get(key);
			if (object)
				events.push(...(await readRecords(await object.arrayBuffer())));
		}
		return events;
	}, done);
}

/**
 * Answers `sql` as `npm run --silent events -- query --local --json` does, over the collector's
 * events of record: its objects are copied into a fresh local state (the collector runs without
 * one on disk) and the command reads them from there with DuckDB.
 *
 * @example
 * await queryEvents(collector, "SELECT count(*) AS n FROM events") // [{ n: 4 }]
 */
export async function queryEvents<T = Record<string, unknown>>(
	collector: LocalCollector,
	sql: string,
): Promise<T[]> {
	const state = mkdtempSync(join(tmpdir(), "conduit-e2e-events-"));
	try {
		const proxy = await getPlatformProxy<{ RECORDS: Bucket }>({
			configPath: join(ROOT, "wrangler.toml"),
			persist: { path: join(state, "v3") },
			remoteBindings: false,
		});
		try {
			const from = recordsOf(collector);
			for (const key of await keys(from)) {
				const object = await from.get(key);
				if (object)
					await proxy.env.RECORDS.put(
						key,
						new Uint8Array(await object.arrayBuffer()),
					);
			}
		} finally {
			await proxy.dispose();
		}
		return JSON.parse(
			await run(["query", "--local", "--persist-to", state, "--json", sql]),
		) as T[];
	} finally {
		rmSync(state, { recursive: true, force: true });
	}
}

/**
 * Answers `sql` over the collector's events of record with the query command's own view and
 * DuckDB runner (scripts/events/duckdb.ts), reading the objects from a plain folder: the same
 * answer as {@link queryEvents} without the two platform proxies, for tests that poll.
 *
 * @example
 * await queryEventsFast(collector, "SELECT count(*) AS n FROM events") // [{ n: 4 }]
 */
export async function queryEventsFast<T = Record<string, unknown>>(
	collector: LocalCollector,
	sql: string,
): Promise<T[]> {
	const into = mkdtempSync(join(tmpdir(), "conduit-e2e-objects-"));
	try {
		const from = recordsOf(collector);
		let copied = 0;
		for (const key of await keys(from)) {
			const object = await from.get(key);
			if (!object) continue;
			const path = join(into, key);
			mkdirSync(dirname(path), { recursive: true });
			writeFileSync(path, new Uint8Array(await object.arrayBuffer()));
			copied++;
		}
		const glob =
			copied > 0 ? join(into, RECORDS_PREFIX, "**/*.parquet") : undefined;
		return (await runQuery([eventsView(glob)], sql)) as T[];
	} finally {
		rmSync(into, { recursive: true, force: true });
	}
}
