import { waitUntil } from "cloudflare:workers";
import type { EventType, WireEvent, WireObject } from "@conduit/protocol";
import {
	MAX_BATCH_EVENTS,
	MAX_EVENT_BYTES,
	mergeMissing,
} from "@conduit/protocol";
import type { Source } from "../config/schema";
import { tapRejections } from "../console/tap";
import { spoolMessages } from "../db/spool";
import { ApiError } from "../errors";
import { enrichEvent, type RequestFacts, SERVER_OWNED_CONTEXT } from "./enrich";
import { serialiseEnriched, utf8Length } from "./enrich/fit";
import { pack } from "./message";
import { messageIdFor } from "./message-id";
import { nestingIssue, unicodeIssue } from "./storable";
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
export function eventsOfBatch(body: WireObject): unknown[] {
	const { batch } = body;
	if (!Array.isArray(batch))
		throw new ApiError(
			400,
			"invalid_batch",
			"'batch' must be an array of events",
		);
	if (batch.length > MAX_BATCH_EVENTS) {
		throw new ApiError(
			400,
			"batch_too_large",
			`A batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${batch.length}`,
		);
	}
	const context = asObject(body.context);
	const integrations = asObject(body.integrations);
	const sentAt = typeof body.sentAt === "string" ? body.sentAt : undefined;
	if (!context && !integrations && !sentAt) return batch;
	return batch.map((item) => {
		if (!asObject(item)) return item;
		const event: WireObject = { ...(item as WireObject) };
		// An event's own context or integrations that is not an object stays as it is, for
		// validation to refuse: the batch's values never paper over it.
		// A null field is one the event did not set: the batch's value applies.
		if (context && (event.context == null || asObject(event.context)))
			event.context = mergeMissing(asObject(event.context) ?? {}, context);
		if (
			integrations &&
			(event.integrations == null || asObject(event.integrations))
		)
			event.integrations = mergeMissing(
				asObject(event.integrations) ?? {},
				integrations,
			);
		if (sentAt && event.sentAt == null) event.sentAt = sentAt;
		return event;
	});
}

/**
 * Runs each event through validate and the storage checks (must pass) and enrich (best
 * effort), then hands the accepted ones to the EVENTS queue. Resolves only once every accepted
 * event is durably kept — taken by the queue or, if the queue refuses, written to D1's spool;
 * if neither works, throws 503 so the client keeps the batch and retries (the consumer
 * deduplicates by messageId, so a partly enqueued batch is safe to resend).
 *
 * An event is accepted only when it can be stored as it is: it passes the Segment Spec, its
 * timestamps lie in 1970–9999, nothing in it nests deeper than `LIMITS.maxDepth` or holds
 * invalid Unicode (storable.ts), it is at most `MAX_EVENT_BYTES` as sent and at most
 * `LIMITS.maxEnrichedEventBytes` enriched. Anything else is rejected with its reason, alone.
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
				? { ...(input as WireObject), type: routeType }
				: input;
		const outcome = await prepare(prepared, facts, source);
		if (outcome.ok) accepted.push(outcome.json);
		else rejected.push({ index, ...messageIdOf(input), error: outcome.error });
	}
	await enqueue(sinks, source.id, accepted);
	waitUntil(
		tapRejections(sinks.DB, source.id, rejected, events, facts.receivedAt),
	);
	return { accepted: accepted.length, rejected };
}

type Prepared = { ok: true; json: string } | { ok: false; error: string };

/** One event from client input to the JSON line the queue carries, or the reason it cannot be. */
async function prepare(
	input: unknown,
	facts: RequestFacts,
	source: Source,
): Promise<Prepared> {
	const checked = validateEvent(input);
	if (!checked.ok) return checked;
	const { event } = checked;
	// Before anything serialises the event: JSON.stringify recurses as deep as the event does.
	const tooDeep = nestingIssue(event);
	if (tooDeep) return { ok: false, error: tooDeep };
	if (!event.messageId)
		event.messageId = await messageIdFor(source.id, event, facts.receivedAtMs);
	const enriched = enrichEvent(event, facts, source);
	const fitted = serialiseEnriched(enriched, event.context);
	if (!fitted.ok) return fitted;
	// What is stored must be valid Unicode; what enrichment dropped does not matter.
	const invalidText = unicodeIssue(enriched, fitted.json);
	if (invalidText) return { ok: false, error: invalidText };
	const size = clientSize(fitted.json, event);
	if (size > MAX_EVENT_BYTES)
		return {
			ok: false,
			error: `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`,
		};
	return fitted;
}

/**
 * Characters enrichment may take from what it keeps of a client's event: a timestamp rewritten
 * in canonical form (up to 12 shorter) and a valid IP rewritten by the source's policy (up to 43).
 */
const REWRITE_ROOM = 64;
/** Context objects enrichment completes, dropping the client's empty (null or "") values. */
const COMPLETED_CONTEXT = ["browser", "os", "device", "location"] as const;

/**
 * The event's size as the client sent it (UTF-8 bytes of its JSON), or 0 when it is surely
 * within `MAX_EVENT_BYTES`. Enrichment adds to an event and rewrites little of it (see
 * REWRITE_ROOM), so a short enriched form proves the client's is short too without a second
 * serialisation (a UTF-16 unit takes at most 3 bytes). The client's form is serialised and
 * measured when the enriched one is near the limit, or when enrichment may have removed more:
 * a server-owned field, a `context.ip` that is no IP, empty values in an object it completes.
 */
function clientSize(enrichedJson: string, event: WireEvent): number {
	const limit = MAX_EVENT_BYTES;
	if (
		!removesClientData(event) &&
		(enrichedJson.length + REWRITE_ROOM) * 3 <= limit
	)
		return 0;
	return utf8Length(JSON.stringify(event), limit);
}

function removesClientData(event: WireEvent): boolean {
	const { context } = event;
	if (!context) return false;
	const { ip } = context;
	if (ip !== undefined && !(typeof ip === "string" && ip.length <= 45))
		return true;
	return (
		SERVER_OWNED_CONTEXT.some((key) => context[key] !== undefined) ||
		COMPLETED_CONTEXT.some((key) => context[key] !== undefined)
	);
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

function asObject(value: unknown): WireObject | undefined {
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as WireObject)
		: undefined;
}

function messageIdOf(input: unknown): { messageId?: string } {
	const id = asObject(input)?.messageId;
	return typeof id === "string" ? { messageId: id } : {};
}
