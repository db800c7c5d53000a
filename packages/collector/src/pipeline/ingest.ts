import type { Source } from "../config/schema";
import { spoolMessages } from "../db/spool";
import { ApiError } from "../errors";
import { LIMITS } from "../limits";
import type { EventType, JsonObject, SegmentEvent } from "../types";
import { enrichEvent, type RequestFacts } from "./enrich";
import { UNSAFE_KEYS } from "./json";
import { messageIdFor } from "./message-id";
import { validateEvent } from "./validate";

/** Why one event of a batch was not accepted. */
export interface Rejection {
	index: number;
	messageId?: string;
	error: string;
}

export interface IngestResult {
	accepted: number;
	rejected: Rejection[];
}

/**
 * Takes a batch body apart into events, with the batch's `context`, `integrations` and `sentAt`
 * applied to each (the event's own values win).
 *
 * @throws ApiError 400 when `batch` is not an array or holds more than 2,500 events.
 * @example
 * eventsOfBatch({ batch: [{ type: "track", event: "A" }], context: { app: { name: "x" } } })
 */
export function eventsOfBatch(body: JsonObject): unknown[] {
	const { batch } = body;
	if (!Array.isArray(batch))
		throw new ApiError(
			400,
			"invalid_batch",
			"'batch' must be an array of events",
		);
	if (batch.length > LIMITS.maxBatchEvents) {
		throw new ApiError(
			400,
			"batch_too_large",
			`A batch holds at most ${LIMITS.maxBatchEvents} events; this one has ${batch.length}`,
		);
	}
	const context = asObject(body.context);
	const integrations = asObject(body.integrations);
	const sentAt = typeof body.sentAt === "string" ? body.sentAt : undefined;
	if (!context && !integrations && !sentAt) return batch;
	return batch.map((item) => {
		if (!asObject(item)) return item;
		const event: JsonObject = { ...(item as JsonObject) };
		if (context)
			event.context = mergeMissing(asObject(event.context) ?? {}, context);
		if (integrations)
			event.integrations = mergeMissing(
				asObject(event.integrations) ?? {},
				integrations,
			);
		if (sentAt && event.sentAt === undefined) event.sentAt = sentAt;
		return event;
	});
}

/**
 * Runs each event through validate (must pass) and enrich (best effort), then hands the
 * accepted ones to the EVENTS queue. Resolves only once every accepted event is durably kept —
 * taken by the queue or, if the queue refuses, written to D1's spool; if neither works, throws
 * 503 so the client keeps the batch and retries (the consumer deduplicates by messageId, so a
 * partly enqueued batch is safe to resend).
 *
 * @example
 * const { accepted, rejected } = await ingest(env, events, facts, source);
 */
export async function ingest(
	sinks: IngestSinks,
	events: readonly unknown[],
	facts: RequestFacts,
	source: Source,
	routeType?: EventType,
): Promise<IngestResult> {
	const rejected: Rejection[] = [];
	const accepted: string[] = [];
	for (const [index, input] of events.entries()) {
		const prepared =
			routeType && asObject(input)
				? { ...(input as JsonObject), type: routeType }
				: input;
		const checked = validateEvent(prepared);
		if (!checked.ok) {
			rejected.push({ index, ...messageIdOf(input), error: checked.error });
			continue;
		}
		if (!checked.event.messageId) {
			checked.event.messageId = await messageIdFor(
				source.id,
				checked.event,
				facts.receivedAtMs,
			);
		}
		const json = JSON.stringify(enrichEvent(checked.event, facts, source));
		const size = clientSize(json, checked.event);
		if (size > LIMITS.maxEventBytes) {
			rejected.push({
				index,
				...messageIdOf(input),
				error: `event is ${size} bytes; the limit is ${LIMITS.maxEventBytes}`,
			});
			continue;
		}
		accepted.push(json);
	}
	await enqueue(sinks, source.id, accepted);
	return { accepted: accepted.length, rejected };
}

const encoder = new TextEncoder();

/**
 * The size of the event as the client sent it. Enrichment only adds to an event, apart from an
 * IP address it may remove, so a short enriched form proves the client's form is under the
 * limit without a second serialisation (a UTF-16 unit is at most 3 UTF-8 bytes). Only events
 * near the limit are serialised again and measured exactly.
 */
function clientSize(enrichedJson: string, validated: SegmentEvent): number {
	const IP_ROOM = 64;
	if ((enrichedJson.length + IP_ROOM) * 3 <= LIMITS.maxEventBytes) return 0;
	return encoder.encode(JSON.stringify(validated)).byteLength;
}

/**
 * Packs serialised events into queue messages: NDJSON text, a header line `{"sourceId":…}`
 * then one event per line (JSON.stringify never writes a raw newline, so lines are events). At
 * most 100 events and 40,000 UTF-16 units each, so a message stays under Queues' 128 KB limit
 * even when every character takes 3 bytes; the consumer stores each line as it is.
 *
 * @example
 * pack("web", ['{"type":"page",…}']) // ['{"sourceId":"web"}\n{"type":"page",…}']
 */
export function pack(sourceId: string, events: readonly string[]): string[] {
	const MAX_UNITS = 40_000;
	const header = JSON.stringify({ sourceId });
	const messages: string[] = [];
	let part: string[] = [];
	let units = 0;
	for (const json of events) {
		if (
			part.length > 0 &&
			(part.length === LIMITS.eventsPerQueueMessage ||
				units + json.length > MAX_UNITS)
		) {
			messages.push(`${header}\n${part.join("\n")}`);
			part = [];
			units = 0;
		}
		part.push(json);
		units += json.length;
	}
	if (part.length > 0) messages.push(`${header}\n${part.join("\n")}`);
	return messages;
}

/** Where accepted events go: the EVENTS queue, or D1's spool when the queue refuses them. */
export type IngestSinks = Pick<Env, "EVENTS" | "DB">;

async function enqueue(
	sinks: IngestSinks,
	sourceId: string,
	events: readonly string[],
): Promise<void> {
	if (events.length === 0) return;
	const messages = pack(sourceId, events);
	try {
		await Promise.all(
			messages.map((body) => sinks.EVENTS.send(body, { contentType: "text" })),
		);
		return;
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "enqueue failed; spooling to D1",
				events: events.length,
				error: String(error),
			}),
		);
	}
	// Some messages may have reached the queue: spooling them again only makes duplicates,
	// which the consumer drops.
	try {
		await spoolMessages(sinks.DB, messages, new Date());
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "spool failed",
				events: events.length,
				error: String(error),
			}),
		);
		throw new ApiError(
			503,
			"unavailable",
			"Events could not be stored right now; retry the same request",
			{
				"Retry-After": "10",
			},
		);
	}
}

function asObject(value: unknown): JsonObject | undefined {
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as JsonObject)
		: undefined;
}

function messageIdOf(input: unknown): { messageId?: string } {
	const id = asObject(input)?.messageId;
	return typeof id === "string" ? { messageId: id } : {};
}

/**
 * A copy of `own` with what it lacks taken from `shared`, recursively for nested objects.
 *
 * @example
 * mergeMissing({ app: { name: "a" } }, { app: { version: "1" }, locale: "de" })
 * // { app: { name: "a", version: "1" }, locale: "de" }
 */
export function mergeMissing(own: JsonObject, shared: JsonObject): JsonObject {
	const merged: JsonObject = { ...own };
	for (const key of Object.keys(shared)) {
		if (UNSAFE_KEYS.has(key)) continue;
		const mine = asObject(merged[key]);
		const theirs = asObject(shared[key]);
		if (merged[key] === undefined) merged[key] = shared[key];
		else if (mine && theirs) merged[key] = mergeMissing(mine, theirs);
	}
	return merged;
}
