import { env, exports } from "cloudflare:workers";
import eventsText from "../../../test/fixtures/events.ndjson?raw";
import { profileAudiences } from "../src/audiences/view";
import { CONFIG_KEY, clearConfigCache, loadConfig } from "../src/config/load";
import type { ConfigInput } from "../src/config/schema";
import { waitForRecords } from "./helpers/records";

/** The shared fixture events (624 Segment events from 64 people). */
export const fixtureEvents: Record<string, unknown>[] = eventsText
	.trim()
	.split("\n")
	.map((line: string) => JSON.parse(line));

export const ORIGIN = "https://shop.example.com";

/** Sources covering each policy the tests need. Only `limited` goes through the rate limiter. */
export const TEST_CONFIG: ConfigInput = {
	version: 1,
	sources: [
		{
			id: "web",
			writeKey: "wk_test_web_000",
			allowedOrigins: [ORIGIN],
			ipPolicy: "truncate",
			rateLimit: false,
			enabled: true,
		},
		{
			id: "full-ip",
			writeKey: "wk_test_full_ip",
			allowedOrigins: ["https://partner.example"],
			ipPolicy: "full",
			rateLimit: false,
			enabled: true,
		},
		{
			id: "no-ip",
			writeKey: "wk_test_no_ip_0",
			allowedOrigins: [],
			ipPolicy: "none",
			rateLimit: false,
			enabled: true,
		},
		{
			id: "limited",
			writeKey: "wk_test_limited",
			allowedOrigins: [],
			ipPolicy: "truncate",
			rateLimit: true,
			enabled: true,
		},
		{
			id: "off",
			writeKey: "wk_test_disabled",
			allowedOrigins: [],
			ipPolicy: "truncate",
			rateLimit: false,
			enabled: false,
		},
	],
	destinations: [],
};

export const WEB_KEY = "wk_test_web_000";

/** A profile's lifetime value (the built-in computed trait), as the profile API reads it now. */
export async function lifetimeValueOf(profileId: string | undefined) {
	const { computedTraits } = await profileAudiences(
		env.DB,
		await loadConfig(env),
		profileId ?? "",
		new Date(),
	);
	return computedTraits.lifetime_value;
}

/** Writes a config document (by default TEST_CONFIG) to KV and drops the isolate's cached copy. */
export async function useConfig(config: unknown = TEST_CONFIG): Promise<void> {
	await env.CONFIG.put(CONFIG_KEY, JSON.stringify(config));
	clearConfigCache();
}

export function basic(writeKey: string): string {
	return `Basic ${btoa(`${writeKey}:`)}`;
}

export interface PostOptions {
	writeKey?: string | null;
	headers?: Record<string, string>;
	gzip?: boolean;
	raw?: BodyInit;
}

/** POSTs to the collector through its real fetch handler. */
export async function post(
	path: string,
	body: unknown,
	options: PostOptions = {},
): Promise<Response> {
	const headers = new Headers({
		"content-type": "application/json",
		...options.headers,
	});
	const writeKey = options.writeKey === undefined ? WEB_KEY : options.writeKey;
	if (writeKey !== null && !headers.has("authorization"))
		headers.set("authorization", basic(writeKey));
	let payload: BodyInit = options.raw ?? JSON.stringify(body);
	if (options.gzip) {
		headers.set("content-encoding", "gzip");
		payload = await new Response(
			new Blob([payload as string])
				.stream()
				.pipeThrough(new CompressionStream("gzip")),
		).arrayBuffer();
	}
	return exports.default.fetch(
		new Request(`http://collector.test${path}`, {
			method: "POST",
			headers,
			body: payload,
		}),
	);
}

/** A unique id per call, so tests sharing one database never collide. */
let counter = 0;
export function uniqueId(prefix = "msg"): string {
	counter += 1;
	return `${prefix}_${Date.now().toString(36)}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export interface StoredRow {
	source_id: string;
	message_id: string;
	type: string;
	/** The event as stored, as JSON text. */
	payload: string;
	/** The object of record holding it. */
	key: string;
}

/**
 * Polls the events of record (R2 RECORDS) until `count` events with these messageIds are stored
 * (the queue consumer runs asynchronously after ingest), then returns them. Bounded: fails
 * after `timeoutMs`.
 */
export async function waitForStored(
	messageIds: string[],
	count = messageIds.length,
	timeoutMs = 8000,
): Promise<StoredRow[]> {
	const found = await waitForRecords(messageIds, count, timeoutMs);
	return found.map(({ sourceId, event, key }) => ({
		source_id: sourceId,
		message_id: event.messageId,
		type: event.type,
		payload: JSON.stringify(event),
		key,
	}));
}

export function payloadOf(
	row: StoredRow,
): Record<string, unknown> & { context: Record<string, unknown> } {
	return JSON.parse(row.payload);
}
