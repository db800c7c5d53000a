import type { Source } from "../config/schema";
import { ApiError } from "../errors";
import { LIMITS } from "../limits";
import type {
	EnrichedEvent,
	EventType,
	JsonObject,
	QueuedEvent,
	SegmentEvent,
} from "../types";
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
 * accepted ones to the EVENTS queue. Resolves only once the queue has taken every accepted
 * event; if it cannot, throws 503 so the client keeps the batch and retries (the consumer
 * deduplicates by messageId, so a partly enqueued batch is safe to resend).
 *
 * @example
 * const { accepted, rejected } = await ingest(env.EVENTS, events, facts, source);
 */
export async function ingest(
	queue: Queue<QueuedEvent>,
	events: readonly unknown[],
	facts: RequestFacts,
	source: Source,
	routeType?: EventType,
): Promise<IngestResult> {
	const rejected: Rejection[] = [];
	const messages: { body: QueuedEvent; size: number }[] = [];
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
		const size = byteLength(JSON.stringify(checked.event));
		if (size > LIMITS.maxEventBytes) {
			rejected.push({
				index,
				...messageIdOf(input),
				error: `event is ${size} bytes; the limit is ${LIMITS.maxEventBytes}`,
			});
			continue;
		}
		const event = await complete(checked.event, facts, source);
		messages.push({ body: { sourceId: source.id, event }, size });
	}
	await enqueue(queue, messages);
	return { accepted: messages.length, rejected };
}

async function complete(
	event: SegmentEvent,
	facts: RequestFacts,
	source: Source,
): Promise<EnrichedEvent> {
	if (!event.messageId)
		event.messageId = await messageIdFor(
			source.id,
			event,
			facts.receivedAt.getTime(),
		);
	return enrichEvent(event, facts, source);
}

/** Room per message for what enrichment adds (ids, location, parsed user agent…). */
const ENRICHMENT_ALLOWANCE = 2048;

async function enqueue(
	queue: Queue<QueuedEvent>,
	messages: { body: QueuedEvent; size: number }[],
): Promise<void> {
	const chunks: MessageSendRequest<QueuedEvent>[][] = [];
	let chunk: MessageSendRequest<QueuedEvent>[] = [];
	let bytes = 0;
	for (const { body, size } of messages) {
		const cost = size + ENRICHMENT_ALLOWANCE;
		if (
			chunk.length === LIMITS.queueBatchMessages ||
			(chunk.length > 0 && bytes + cost > LIMITS.queueBatchBytes)
		) {
			chunks.push(chunk);
			chunk = [];
			bytes = 0;
		}
		chunk.push({ body, contentType: "json" });
		bytes += cost;
	}
	if (chunk.length > 0) chunks.push(chunk);
	try {
		await Promise.all(chunks.map((part) => queue.sendBatch(part)));
	} catch (error) {
		console.error(
			JSON.stringify({
				msg: "enqueue failed",
				events: messages.length,
				error: String(error),
			}),
		);
		throw new ApiError(
			503,
			"unavailable",
			"Events could not be stored right now; retry the same request",
			{ "Retry-After": "10" },
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

const encoder = new TextEncoder();
function byteLength(text: string): number {
	return encoder.encode(text).byteLength;
}
