import type { ParkInput } from "../db/parked";
import { errorText } from "../errors";
import type { EnrichedEvent } from "../event";
import { LIMITS } from "../limits";

/*
 * The EVENTS queue message, written and read here only. Its one format is NDJSON text: a header
 * line `{"sourceId":…}`, then one enriched event per line, each line kept as ingest serialised
 * it (the consumer stores it byte for byte). Ingest, the spool and parked-event replay send it;
 * the EVENTS consumer, the spool drain and the EVENTS dead-letter consumer read it.
 */

/** One event of a queue message, with its JSON text exactly as it came. */
export interface DecodedEvent {
	event: EnrichedEvent;
	json: string;
}

/** A line of a message that is not an event the consumer can store. */
export interface RefusedLine {
	/** The line as it came (the JSON of the event for an object body). */
	json: string;
	messageId?: string;
	userId?: string;
	anonymousId?: string;
	error: string;
}

/** A queue message taken apart: its source, its events, and the lines that are not events. */
export interface DecodedMessage {
	sourceId: string;
	events: DecodedEvent[];
	refused: RefusedLine[];
}

/** What a message body turned out to be. */
export type Decoding =
	| { ok: true; message: DecodedMessage }
	/** No source can be read: the whole body is kept as text. */
	| { ok: false; sourceId: string; text: string; error: string };

/** Room in a message for its header line (a source id is at most 64 characters) and newlines. */
const MESSAGE_FRAMING_BYTES = 1000;
const MAX_SHARED_UNITS = Math.floor(
	(LIMITS.maxQueueMessageBytes - MESSAGE_FRAMING_BYTES) / 3,
);

/**
 * Packs serialised events into queue messages: NDJSON text, a header line `{"sourceId":…}`
 * then one event per line (JSON.stringify never writes a raw newline, so lines are events); the
 * consumer stores each line as it is.
 *
 * A message stays within `LIMITS.maxQueueMessageBytes` whatever the characters: several events
 * share a message only while they total at most `MAX_SHARED_UNITS` UTF-16 units (a unit takes
 * at most 3 UTF-8 bytes), and a longer event travels alone, which fits because ingest holds
 * every event to `LIMITS.maxEnrichedEventBytes`. At most 100 events go in one message.
 *
 * @example
 * pack("web", ['{"type":"page",…}']) // ['{"sourceId":"web"}\n{"type":"page",…}']
 */
export function pack(sourceId: string, events: readonly string[]): string[] {
	const header = JSON.stringify({ sourceId });
	const messages: string[] = [];
	let part: string[] = [];
	let units = 0;
	for (const json of events) {
		if (
			part.length > 0 &&
			(part.length === LIMITS.eventsPerQueueMessage ||
				units + json.length > MAX_SHARED_UNITS)
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

/**
 * Reads an EVENTS message body ({@link pack}'s NDJSON text). Each line is judged on its own, so
 * one unreadable line never takes its neighbours down: a line that is not a JSON object with a
 * string messageId is refused, and so is a messageId that is not well-formed Unicode (D1 stores
 * text as UTF-8, where a lone surrogate cannot survive: the stored id would differ from the
 * event's, and the event would never be found again to be finished). A body that is not text
 * is no EVENTS message at all.
 *
 * @example
 * decodeMessage('{"sourceId":"web"}\n{"messageId":"m1",…}') // { ok: true, message: { sourceId: "web", events: [{ event, json }], refused: [] } }
 * decodeMessage("{oops") // { ok: false, sourceId: "", text: "{oops", error: "…" }
 */
export function decodeMessage(body: unknown): Decoding {
	if (typeof body === "string") return decodeText(body);
	return {
		ok: false,
		sourceId: "",
		text: safeStringify(body),
		error: "the message is not NDJSON text",
	};
}

function decodeText(body: string): Decoding {
	const [header = "", ...lines] = body.split("\n");
	let sourceId: unknown;
	try {
		sourceId = (JSON.parse(header) as { sourceId?: unknown } | null)?.sourceId;
	} catch (error) {
		return { ok: false, sourceId: "", text: body, error: errorText(error) };
	}
	if (!isSource(sourceId))
		return {
			ok: false,
			sourceId: "",
			text: body,
			error: "the first line names no sourceId",
		};
	const message: DecodedMessage = { sourceId, events: [], refused: [] };
	for (const json of lines) {
		let event: unknown;
		try {
			event = JSON.parse(json);
		} catch (error) {
			message.refused.push({ json, error: `not JSON: ${errorText(error)}` });
			continue;
		}
		judge(message, event, json);
	}
	return { ok: true, message };
}

function judge(message: DecodedMessage, event: unknown, json: string): void {
	if (typeof event !== "object" || event === null || Array.isArray(event)) {
		message.refused.push({ json, error: "an event must be a JSON object" });
		return;
	}
	const { messageId, userId, anonymousId } = event as Record<string, unknown>;
	const ids = {
		...(typeof userId === "string" && { userId }),
		...(typeof anonymousId === "string" && { anonymousId }),
	};
	if (typeof messageId !== "string" || messageId === "") {
		message.refused.push({ json, ...ids, error: "the event has no messageId" });
		return;
	}
	if (!messageId.isWellFormed()) {
		message.refused.push({
			json,
			messageId,
			...ids,
			error:
				"messageId is not well-formed Unicode (a lone surrogate): storage would change it",
		});
		return;
	}
	message.events.push({ event: event as EnrichedEvent, json });
}

function isSource(sourceId: unknown): sourceId is string {
	return (
		typeof sourceId === "string" && sourceId !== "" && sourceId.isWellFormed()
	);
}

function safeStringify(value: unknown): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		// A value JSON cannot express (not possible for a queue body, which was JSON itself).
		return String(value);
	}
}

/**
 * The parked rows (`malformed`) for what a decoded message holds that is no event: the whole
 * body when no source can be read, else each refused line. Such a line can never succeed, so
 * the EVENTS consumer and its dead-letter consumer park it at once.
 *
 * @example
 * parked.push(...malformedRows(decodeMessage(message.body)));
 */
export function malformedRows(decoding: Decoding): ParkInput[] {
	if (!decoding.ok)
		return [
			{
				kind: "event",
				sourceId: decoding.sourceId,
				reason: "malformed",
				error: decoding.error,
				payload: decoding.text,
			},
		];
	const { sourceId, refused } = decoding.message;
	return refused.map((line) => ({
		kind: "event",
		sourceId,
		messageId: line.messageId,
		userId: line.userId,
		anonymousId: line.anonymousId,
		reason: "malformed",
		error: line.error,
		payload: line.json,
	}));
}
