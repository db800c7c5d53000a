import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
	type QueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { WireObject } from "@conduit/protocol";
import eventsText from "../../../../test/fixtures/events.ndjson?raw";
import { clearConfigCache } from "../../src/config/load";
import { type ClaimedEvent, claimEvents } from "../../src/db/seen";
import type { EnrichedEvent, QueuedEvent } from "../../src/event";
import { IdentityCache } from "../../src/identity/cache";
import { countingD1, type D1Calls } from "../../src/identity/d1-counter";
import { clearIdentityMemory } from "../../src/identity/deps";
import { Lru } from "../../src/identity/lru";
import {
	type IdentityDeps,
	type IdentityResult,
	resolveIdentities,
} from "../../src/identity/resolve";
import {
	type IdentitySettingsInput,
	identitySettings,
} from "../../src/identity/settings";
import { tallyStatements } from "../../src/identity/tally";
import type { SourceTrust } from "../../src/identity/trust";
import worker from "../../src/index";
import { correctTimestamps } from "../../src/ingest/enrich/timestamps";
import { pack } from "../../src/ingest/message";
import { validateEvent } from "../../src/ingest/validate";
import { useConfig as writeConfig } from "../helpers";

/** The source every identity test sends from. */
export const SOURCE_ID = "web";

/** Writes the collector config with the test source (and its identity rules) to KV. */
export async function useConfig(identity?: IdentitySettingsInput) {
	const config = {
		version: 1,
		sources: [
			{
				id: SOURCE_ID,
				writeKey: "wk_test_web_0123456789",
				...(identity && { identity }),
			},
		],
		destinations: [],
	};
	await writeConfig(config);
}

/** The 624 fixture events, parsed, in file (timestamp) order. */
export function fixtureEvents(): WireObject[] {
	return eventsText
		.split("\n")
		.filter((line) => line.trim() !== "")
		.map((line) => JSON.parse(line) as WireObject);
}

/**
 * An event as the ingest path would queue it: validated, with the fields enrichment guarantees
 * (messageId, receivedAt, skew-corrected timestamp, context). The rest of enrichment (user
 * agent, location, campaign) is left out: identity resolution reads none of it.
 */
export function toQueued(raw: WireObject, sourceId = SOURCE_ID): QueuedEvent {
	const checked = validateEvent(structuredClone(raw));
	if (!checked.ok) throw new Error(`invalid test event: ${checked.error}`);
	const receivedAt = new Date();
	const times = correctTimestamps(checked.event, receivedAt.getTime());
	const event: EnrichedEvent = {
		...checked.event,
		messageId: checked.event.messageId ?? crypto.randomUUID(),
		receivedAt: receivedAt.toISOString(),
		...times,
		context: checked.event.context ?? {},
	};
	return { sourceId, event };
}

let nextMessage = 0;

/**
 * A queue message carrying one event, written as ingest writes it; `id` repeats a message (a
 * redelivery) when given.
 */
export function message(body: QueuedEvent, id?: string, attempts = 1) {
	return {
		id: id ?? `queue-message-${++nextMessage}`,
		timestamp: new Date(),
		attempts,
		body: pack(body.sourceId, [JSON.stringify(body.event)])[0] ?? "",
	};
}

/**
 * Runs the Worker's queue handler on the messages, `batchSize` at a time, in order, as the
 * EVENTS queue would deliver them. `on` replaces bindings (e.g. a wrapped DB).
 */
export async function consume(
	messages: ReturnType<typeof message>[],
	options: { batchSize?: number; on?: Partial<Env> } = {},
): Promise<QueueResult[]> {
	const size = options.batchSize ?? 100;
	const results: QueueResult[] = [];
	for (let i = 0; i < messages.length; i += size) {
		results.push(await consumeBatch(messages.slice(i, i + size), options.on));
	}
	return results;
}

/** Runs the queue handler once on one batch. */
export async function consumeBatch(
	messages: ReturnType<typeof message>[],
	on?: Partial<Env>,
): Promise<QueueResult> {
	const batch = createMessageBatch<unknown>("conduit-events", messages);
	const ctx = createExecutionContext();
	await worker.queue(batch, { ...env, ...on }, ctx);
	return getQueueResult(batch, ctx);
}

const TABLES = [
	"seen",
	"finished_messages",
	"profiles",
	"identities",
	"profile_traits",
	"profile_event_counts",
	"profile_groups",
	"group_traits",
	"profile_merges",
	"identity_refusals",
	"identity_suppressions",
	"profile_deletions",
	"erased_profiles",
	"archive_profile_partitions",
	"archive_partition_names",
	"archive_partition_rewrites",
	"audience_profiles",
	"audience_members",
	"audience_transitions",
];

/** Empties every table, the events of record, the identity KV namespace and the isolate caches. */
export async function resetState(): Promise<void> {
	await env.DB.batch(TABLES.map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
	let cursor: string | undefined;
	do {
		const page = await env.RECORDS.list(cursor ? { cursor } : {});
		if (page.objects.length > 0)
			await env.RECORDS.delete(page.objects.map((o) => o.key));
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	do {
		const page = await env.IDENTITY_CACHE.list(cursor ? { cursor } : {});
		await Promise.all(page.keys.map((k) => env.IDENTITY_CACHE.delete(k.name)));
		cursor = page.list_complete ? undefined : page.cursor;
	} while (cursor);
	clearIdentityMemory();
	clearConfigCache();
}

/** The live profile holding an identifier, straight from D1. */
export async function ownerOf(
	type: string,
	value: string,
): Promise<string | undefined> {
	const row = await env.DB.prepare(
		"SELECT profile_id FROM identities WHERE type = ?1 AND value = ?2",
	)
		.bind(type, value)
		.first<{ profile_id: string }>();
	return row?.profile_id;
}

/** Live profiles, each with its identities as "type:value" strings. */
export async function liveProfiles(): Promise<Map<string, string[]>> {
	const { results } = await env.DB.prepare(
		`SELECT p.id, i.type, i.value FROM profiles AS p
		 LEFT JOIN identities AS i ON i.profile_id = p.id
		 WHERE p.merged_into IS NULL ORDER BY p.id, i.type, i.value`,
	).all<{ id: string; type: string | null; value: string | null }>();
	const profiles = new Map<string, string[]>();
	for (const row of results) {
		const list = profiles.get(row.id) ?? [];
		if (row.type !== null) list.push(`${row.type}:${row.value}`);
		profiles.set(row.id, list);
	}
	return profiles;
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
	let state = seed >>> 0;
	const random = () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const copy = [...items];
	for (let i = copy.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
	}
	return copy;
}

/** A fresh isolate's cache (own LRUs) in front of the real KV namespace, or of no KV. */
export function newCache(options: { kv?: boolean } = {}): IdentityCache {
	return new IdentityCache(
		new Lru(10_000),
		new Lru(10_000),
		options.kv === false ? undefined : env.IDENTITY_CACHE,
	);
}

/** Resolver dependencies on the real D1 (counted), with a given cache and rules. */
export function depsFor(
	cache: IdentityCache,
	options: {
		db?: D1Database;
		identity?: IdentitySettingsInput;
		trust?: SourceTrust;
		now?: () => Date;
		newProfileId?: () => string;
	} = {},
): IdentityDeps & { d1: D1Calls } {
	const d1 = countingD1(options.db ?? env.DB);
	const settings = identitySettings(options.identity);
	return {
		db: d1.db,
		d1,
		cache,
		settingsFor: () => settings,
		trustFor: () => options.trust ?? "server",
		now: options.now ?? (() => new Date()),
		newProfileId: options.newProfileId ?? (() => `prof_${crypto.randomUUID()}`),
	};
}

/** Claims queued events as the consumer does (each as its own queue message) and returns the fresh ones. */
export async function store(events: QueuedEvent[]): Promise<ClaimedEvent[]> {
	return claimEvents(
		env.DB,
		events.map((e) => ({
			...e,
			json: JSON.stringify(e.event),
			queueMessageId: `queue-message-${++nextMessage}`,
		})),
		new Date(),
	);
}

/**
 * Stores and resolves events with the given dependencies, as one consumer batch, then adds the
 * counters as the consumer's finish does (identity/tally.ts).
 */
export async function storeAndResolve(
	raws: WireObject[],
	deps: IdentityDeps,
): Promise<IdentityResult> {
	const result = await resolveIdentities(
		await store(raws.map((e) => toQueued(e))),
		deps,
	);
	const tally = tallyStatements(env.DB, [result.tally]);
	if (tally.length > 0) await env.DB.batch(tally);
	return result;
}

/** A Segment event for tests: a messageId and timestamp are filled in. */
let nextEvent = 0;
export function seg(fields: WireObject): WireObject {
	nextEvent++;
	return {
		messageId: `test-message-${nextEvent}`,
		timestamp: new Date(Date.UTC(2026, 10, 1, 8, 0, nextEvent)).toISOString(),
		...fields,
	};
}
