import {
	EVENT_TYPES,
	type EventType,
	MAX_ID_LENGTH,
	MAX_MESSAGE_ID_LENGTH,
	MAX_NAME_LENGTH,
	type WireEvent,
	type WireObject,
} from "@conduit/protocol";
import * as v from "valibot";
import { withoutNullFields } from "./null-fields";
import {
	inTimestampRange,
	parseTimestamp,
	TIMESTAMP_RANGE_TEXT,
} from "./timestamp";

/*
 * Stage 1 of the pipeline — must pass. An event that fails is rejected with a reason and never
 * enters the queue; the other events of its batch are unaffected.
 */

const isObject = (value: unknown): value is WireObject =>
	typeof value === "object" && value !== null && !Array.isArray(value);

const JsonObjectSchema = v.custom<WireObject>(isObject, "must be an object");

/** Identifiers: strings, or numbers turned into strings (some clients send numeric user ids). */
const IdSchema = v.pipe(
	v.union(
		[v.string(), v.pipe(v.number(), v.finite(), v.transform(String))],
		"must be a string",
	),
	v.maxLength(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
);
const OptionalIdSchema = v.optional(v.nullable(IdSchema));

const TimestampSchema = v.pipe(
	v.string("must be an ISO-8601 timestamp"),
	v.isoTimestamp(
		"must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-01T08:01:08.400Z",
	),
	// One reading for both checks: a real calendar day, then the accepted range.
	v.rawCheck(({ dataset, addIssue }) => {
		if (!dataset.typed) return;
		const ms = parseTimestamp(dataset.value);
		if (ms === undefined) addIssue({ message: "is not a valid date" });
		else if (!inTimestampRange(ms))
			addIssue({ message: `must be between ${TIMESTAMP_RANGE_TEXT}` });
	}),
);

const NameSchema = v.pipe(
	v.string(),
	v.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
);

const common = {
	messageId: v.optional(
		v.pipe(
			v.string(),
			v.minLength(1, "must not be empty"),
			v.maxLength(
				MAX_MESSAGE_ID_LENGTH,
				`must be at most ${MAX_MESSAGE_ID_LENGTH} characters`,
			),
		),
	),
	userId: OptionalIdSchema,
	anonymousId: OptionalIdSchema,
	timestamp: v.optional(TimestampSchema),
	originalTimestamp: v.optional(TimestampSchema),
	sentAt: v.optional(TimestampSchema),
	context: v.optional(JsonObjectSchema),
	integrations: v.optional(JsonObjectSchema),
	properties: v.optional(JsonObjectSchema),
	traits: v.optional(JsonObjectSchema),
};

const EventSchema = v.pipe(
	v.variant(
		"type",
		[
			// An object schema's message is what a missing required key reports.
			v.looseObject(
				{
					...common,
					type: v.literal("track"),
					event: v.pipe(
						v.string("must be a string"),
						v.minLength(1, "must not be empty"),
						NameSchema,
					),
				},
				"is required for track",
			),
			v.looseObject({ ...common, type: v.literal("identify") }),
			v.looseObject({
				...common,
				type: v.picklist(["page", "screen"]),
				name: v.optional(NameSchema),
				category: v.optional(NameSchema),
			}),
			v.looseObject(
				{ ...common, type: v.literal("group"), groupId: IdSchema },
				"is required for group",
			),
			v.looseObject(
				{ ...common, type: v.literal("alias"), previousId: IdSchema },
				"is required for alias",
			),
		],
		`must be one of ${EVENT_TYPES.join(", ")}`,
	),
	v.check(
		(event) => hasId(event.userId) || hasId(event.anonymousId),
		"userId or anonymousId is required",
	),
);

/** An id made only of whitespace identifies nobody. */
function hasId(id: string | null | undefined): boolean {
	return typeof id === "string" && id.trim() !== "";
}

export type ValidationResult =
	| { ok: true; event: WireEvent }
	| { ok: false; error: string };

/**
 * Validates one event against the Segment Spec.
 *
 * @example
 * validateEvent({ type: "track", event: "Signed Up", userId: "u1" }) // { ok: true, event }
 * validateEvent({ type: "track", userId: "u1" }) // { ok: false, error: "event: is required for track" }
 */
export function validateEvent(input: unknown): ValidationResult {
	if (!isObject(input))
		return { ok: false, error: "an event must be a JSON object" };
	const result = v.safeParse(EventSchema, withoutNullFields(input), {
		abortEarly: true,
	});
	if (!result.success) {
		const issue = result.issues[0];
		const path = issue ? v.getDotPath(issue) : null;
		return {
			ok: false,
			error: path
				? `${path}: ${issue?.message}`
				: (issue?.message ?? "invalid event"),
		};
	}
	const event = result.output as WireEvent;
	// null ids mean "not set"; the client's writeKey is credentials, not event data.
	if (event.userId == null) delete event.userId;
	if (event.anonymousId == null) delete event.anonymousId;
	delete event.writeKey;
	return { ok: true, event };
}

/** Whether `type` names a Segment call type. */
export function isEventType(type: string): type is EventType {
	return (EVENT_TYPES as readonly string[]).includes(type);
}
