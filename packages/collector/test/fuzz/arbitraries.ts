import { EVENT_TYPES } from "@conduit/protocol";
import fc from "fast-check";

/*
 * Generators for the ingest fuzzer: Segment events of all six types, hostile variations of
 * them, and hostile request bodies. Each event carries what the generator meant it to be
 * (`intent`), which the fuzzer checks against the collector's answer.
 */

/** Replaced by a unique messageId when a case runs (generated values are reused while shrinking). */
export const ID = "@@ID@@";
/** Written as `"__proto__"` into the JSON text (a JavaScript object cannot hold that key plainly). */
export const PROTO = "__fuzz_proto__";

/** `valid`: must be accepted; `invalid`: must be rejected; `either`: no expectation, only the invariants. */
export type Intent = "valid" | "invalid" | "either";

export interface GeneratedEvent {
	event: unknown;
	intent: Intent;
	/** The variations applied, for a failure report. */
	why: string[];
}

export type Body =
	| { kind: "batch"; events: GeneratedEvent[]; shared: Shared }
	| { kind: "single"; type: string; event: GeneratedEvent }
	| { kind: "raw"; text: string | Uint8Array; why: string };

export interface GeneratedRequest {
	path: string;
	writeKey: string | null;
	headers: Record<string, string>;
	gzip: boolean;
	body: Body;
	/** Send the same request twice, as a client retrying after a lost answer does. */
	retry: boolean;
}

const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 });
const id = fc.oneof(
	fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }),
	fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
	fc.integer({ min: 0, max: 2 ** 40 }),
	// Ids that end up in D1 columns, KV keys and URLs: NUL, escapes, separators.
	fc
		.constantFrom(
			"a\u0000b",
			"%",
			"%zz",
			"a/b",
			"..",
			" padded ",
			"\t",
			"🙂",
			"x".repeat(255),
		)
		.chain((odd) => fc.nat(999).map((n) => `${odd}${n}`.slice(-255))),
);
/** Ids that are present: not only whitespace. */
const presentId = id.filter((v) => typeof v === "number" || v.trim() !== "");

/** Property values: mostly scalars (odd numbers, any code point), sometimes nested JSON. */
const propertyValue = fc.oneof(
	{ weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
	{ weight: 1, arbitrary: fc.double() },
	{ weight: 1, arbitrary: fc.integer() },
	{
		weight: 1,
		arbitrary: fc.constantFrom(true, false, null, -0, 1e308, 5e-324),
	},
	{ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }) },
);

/** JSON property bags, Unicode, NUL and control characters, odd keys and numbers included. */
const bag = fc.dictionary(
	fc.oneof(
		fc.string({ unit: "grapheme", maxLength: 12 }),
		fc.constantFrom(
			"",
			"$",
			"a.b",
			"[0]",
			"\u0000",
			"constructor",
			"prototype",
			PROTO,
		),
	),
	propertyValue,
	{ maxKeys: 4 },
);

const recent = fc
	.date({
		min: new Date("2020-01-01T00:00:00Z"),
		max: new Date("2030-01-01T00:00:00Z"),
		noInvalidDate: true,
	})
	.map((d) => d.toISOString());

/** Timestamps of every form validation admits, in range. */
const goodTimestamp = fc.oneof(
	recent,
	fc.constantFrom(
		"1970-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999Z",
		"2026-11-01 08:00:00Z",
		"2026-11-01T13:00:00+05",
		"2026-11-01T13:30:00+0530",
		"2026-11-01T08:00:00.123456789-00:00",
		"2024-02-29T12:00:00 +01:00",
	),
);
/** Timestamps refused: out of range, impossible days, not ISO, not strings. */
const badTimestamp = fc.oneof(
	fc.constantFrom<unknown>(
		"1969-12-31T23:59:59Z",
		"0000-01-01T00:00:00Z",
		"1970-01-01T00:30:00+01:00",
		"9999-12-31T23:59:59-01:00",
		"+275760-09-13T00:00:00.000Z",
		"-000001-01-01T00:00:00Z",
		"2026-02-30T00:00:00Z",
		"2026-11-01T08:00:00",
		"yesterday",
		"",
		1730448068,
		// (null is no bad timestamp: a null field is an absent one.)
		false,
	),
	fc
		.date({ noInvalidDate: true })
		.filter((d) => d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999)
		.map((d) => d.toISOString()),
);

/**
 * A value nested `levels` deep (objects `{"n":…}` or arrays around a 1), kept folded while
 * fast-check holds it: its reports print values recursively and would overflow the stack.
 * `expand` unfolds it when a case runs.
 */
export class Nested {
	constructor(
		readonly levels: number,
		readonly array: boolean,
	) {}

	[fc.toStringMethod](): string {
		return `Nested(${this.levels}, ${this.array ? "arrays" : "objects"})`;
	}
}

/** A deep copy of a generated value with every `Nested` unfolded. */
export function expand(value: unknown): unknown {
	if (value instanceof Nested) {
		let inner: unknown = 1;
		for (let i = 0; i < value.levels; i++)
			inner = value.array ? [inner] : { n: inner };
		return inner;
	}
	if (Array.isArray(value)) return value.map(expand);
	if (typeof value !== "object" || value === null) return value;
	const copy: Record<string, unknown> = {};
	for (const [key, item] of Object.entries(value)) copy[key] = expand(item);
	return copy;
}

/** A base event that is valid as generated. */
const validEvent = fc
	.record({
		type: fc.constantFrom(...EVENT_TYPES),
		name,
		userId: presentId,
		anonymousId: presentId,
		which: fc.constantFrom("user", "anonymous", "both"),
		properties: fc.option(bag, { nil: undefined }),
		traits: fc.option(bag, { nil: undefined }),
		context: fc.option(
			fc.record(
				{
					library: fc.constant({ name: "fuzz", version: "1" }),
					page: fc.record({
						url: fc
							.tuple(
								fc.constantFrom(
									"https://shop.example.com/",
									"http://localhost:8788/p/1",
									"not a url",
								),
								fc.string({ unit: "grapheme-ascii", maxLength: 12 }),
							)
							.map(([url, utm]) => `${url}?utm_source=${utm}&gclid=g`),
						referrer: fc.constantFrom(
							"",
							"https://www.google.com/",
							"https://t.co/x",
							"nope",
						),
					}),
					userAgent: fc.string({ unit: "grapheme-ascii", maxLength: 120 }),
					locale: fc.constantFrom("en-US", "de-DE", "ja"),
				},
				{ requiredKeys: [] },
			),
			{ nil: undefined },
		),
		timestamp: fc.option(goodTimestamp, { nil: undefined }),
		sentAt: fc.option(goodTimestamp, { nil: undefined }),
		withMessageId: fc.oneof(
			{ weight: 9, arbitrary: fc.constant(true) },
			fc.constant(false),
		),
	})
	.map((r) => {
		const event: Record<string, unknown> = { type: r.type };
		if (r.withMessageId) event.messageId = ID;
		if (r.which !== "anonymous") event.userId = r.userId;
		if (r.which !== "user") event.anonymousId = r.anonymousId;
		if (r.type === "track") event.event = r.name;
		if (r.type === "page" || r.type === "screen") event.name = r.name;
		if (r.type === "group") event.groupId = r.userId;
		if (r.type === "alias") {
			event.previousId = r.anonymousId;
			event.userId = r.userId;
		}
		if (r.properties) event.properties = r.properties;
		if (r.traits) event.traits = r.traits;
		if (r.context) event.context = r.context;
		if (r.timestamp) event.timestamp = r.timestamp;
		if (r.sentAt) event.sentAt = r.sentAt;
		return event;
	});

type Variation = (
	event: Record<string, unknown>,
) => fc.Arbitrary<{ event: unknown; intent: Intent; why: string }>;

/** A variation that makes one fixed change to a copy of the event. */
const fixed =
	(why: string, change: (e: Record<string, unknown>) => void) =>
	(intent: Intent): Variation =>
	(event) =>
		fc.constant(null).map(() => {
			const copy = { ...event };
			change(copy);
			return { event: copy, intent, why };
		});

/** Variations that leave an event valid. */
const harmless: Variation[] = [
	(e) =>
		fc.integer({ min: 2, max: 31 }).map((levels) => ({
			event: {
				...e,
				properties: { deep: new Nested(levels - 2, levels % 2 === 0) },
			},
			intent: "valid",
			why: `nested ${levels} levels`,
		})),
	fixed("prototype keys", (e) => {
		e.properties = { [PROTO]: { polluted: 1 }, ok: 1 };
		e.context = { ...(e.context as object), [PROTO]: { polluted: 1 } };
	})("valid"),
	fixed("server-owned fields", (e) => {
		e.receivedAt = "2000-01-01T00:00:00.000Z";
		e.context = {
			...(e.context as object),
			profileId: "prof_forged",
			isBot: "no",
			enrichment: { truncated: ["x"] },
		};
	})("valid"),
	(e) =>
		fc
			.record({ timestamp: goodTimestamp, sentAt: goodTimestamp })
			.map((times) => ({
				event: { ...e, ...times },
				intent: "valid",
				why: `times ${times.timestamp} sent ${times.sentAt}`,
			})),
	(e) =>
		fc.integer({ min: 0, max: 1000 }).map((n) => ({
			event: {
				...e,
				properties: { list: Array.from({ length: n }, (_, i) => i) },
			},
			intent: "valid",
			why: `array of ${n}`,
		})),
	fixed("odd characters", (e) => {
		e.properties = {
			nul: "a\u0000b",
			controls: "\u0001\u001f\u007f\u2028\u2029\ufeff\uffff",
			pair: "😀",
			"": "empty key",
			["k".repeat(2000)]: "long key",
			numbers: [1e308, -0, 5e-324, 2 ** 53 + 1, 1e21],
		};
	})("valid"),
	fixed("null optional fields", (e) => {
		Object.assign(e, {
			context: null,
			properties: null,
			traits: null,
			integrations: null,
			timestamp: null,
			sentAt: null,
		});
		if (e.type === "page" || e.type === "screen")
			Object.assign(e, { name: null, category: null });
	})("valid"),
	fixed("null ids beside a present one", (e) => {
		if (e.userId !== undefined && e.type !== "alias") e.anonymousId = null;
		else e.userId = null;
		if (e.type === "alias") e.userId = e.userId ?? "u";
	})("either"),
	fixed("a string of 9 KB in 3-byte characters", (e) => {
		e.properties = { text: "€".repeat(3_000) };
	})("valid"),
	(e) =>
		fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }).chain((value) =>
			fc
				.constantFrom("properties", "traits", "context", "integrations")
				.map((field) => ({
					event: { ...e, [field]: value },
					intent: "either" as Intent,
					why: `random ${field}`,
				})),
		),
];

/** Variations that must make an event rejected. */
const fatal: Variation[] = [
	(e) =>
		fc
			.oneof(fc.integer({ min: 32, max: 40 }), fc.constantFrom(998, 1000, 1200))
			.chain((levels) =>
				fc.boolean().map((array) => ({
					event: {
						...e,
						properties: { deep: new Nested(levels - 1, array) },
					},
					intent: "invalid" as Intent,
					why: `nested ${levels + 1} levels`,
				})),
			),
	(e) =>
		fc
			.record({
				surrogate: fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff"),
				where: fc.constantFrom("messageId", "value", "key", "id", "name"),
			})
			.map(({ surrogate, where }) => {
				const event = { ...e };
				if (where === "messageId") event.messageId = `${ID}${surrogate}`;
				else if (where === "value") event.properties = { v: `x${surrogate}y` };
				else if (where === "key") event.properties = { [`k${surrogate}`]: 1 };
				else if (where === "id") {
					event.userId = `u${surrogate}`;
					event.anonymousId = `a${surrogate}`;
					if (event.type === "alias") event.previousId = `p${surrogate}`;
					if (event.type === "group") event.groupId = `g${surrogate}`;
				} else event.context = { page: { title: `t${surrogate}` } };
				return {
					event,
					intent: "invalid" as Intent,
					why: `lone surrogate in ${where}`,
				};
			}),
	(e) =>
		fc
			.record({
				field: fc.constantFrom("timestamp", "sentAt", "originalTimestamp"),
				value: badTimestamp,
			})
			.map(({ field, value }) => ({
				event: { ...e, [field]: value },
				intent: "invalid" as Intent,
				why: `${field} ${String(value)}`,
			})),
	fixed("no id", (e) => {
		delete e.userId;
		delete e.anonymousId;
	})("invalid"),
	(e) =>
		fc
			.constantFrom<[string, unknown]>(
				["type", "teleport"],
				["type", 7],
				["messageId", ""],
				["messageId", "m".repeat(101)],
				["messageId", 12],
				["context", "x"],
				["properties", []],
				["traits", "x"],
				["integrations", 5],
				["userId", { id: 1 }],
				["anonymousId", true],
			)
			.map(([field, value]) => ({
				event: { ...e, [field]: value },
				intent: "invalid" as Intent,
				why: `${field} = ${JSON.stringify(value)}`,
			})),
	fixed("over 32 KB", (e) => {
		e.properties = { text: "x".repeat(33_000) };
	})("invalid"),
	() =>
		fc
			.constantFrom<unknown>("event", 42, null, true, [], [{ type: "track" }])
			.map((event) => ({
				event,
				intent: "invalid" as Intent,
				why: "not an object",
			})),
];

/** An event: valid, or valid with one harmless or fatal variation. */
export const generatedEvent: fc.Arbitrary<GeneratedEvent> = validEvent.chain(
	(event) =>
		fc
			.oneof(
				{
					weight: 3,
					arbitrary: fc.constant({ event, intent: "valid" as Intent, why: "" }),
				},
				{ weight: 3, arbitrary: fc.oneof(...harmless.map((v) => v(event))) },
				{ weight: 3, arbitrary: fc.oneof(...fatal.map((v) => v(event))) },
			)
			.map(({ event, intent, why }) => ({
				event,
				intent,
				why: why ? [why] : [],
			})),
);

/**
 * Fields a batch shares with its events, and what they do to the events that take them: a
 * context nested too deep, or a refused sentAt, makes those events invalid.
 */
export interface Shared {
	fields: Record<string, unknown>;
	spoils?: "context" | "sentAt";
}

const shared: fc.Arbitrary<Shared> = fc.oneof(
	{ weight: 4, arbitrary: fc.constant<Shared>({ fields: {} }) },
	fc.constant<Shared>({ fields: { context: { app: { name: "fuzz" } } } }),
	fc.constant<Shared>({
		fields: {
			context: { profileId: "prof_forged", locale: "fr" },
			integrations: { All: true },
		},
	}),
	fc.constant<Shared>({
		fields: { context: { deep: new Nested(40, false) } },
		spoils: "context",
	}),
	goodTimestamp.map((sentAt): Shared => ({ fields: { sentAt } })),
	badTimestamp.map(
		(sentAt): Shared =>
			// Only a non-empty string sentAt is shared; anything else is ignored.
			typeof sentAt === "string" && sentAt !== ""
				? { fields: { sentAt }, spoils: "sentAt" }
				: { fields: { sentAt } },
	),
);

/** Bodies a client should never send, each answered with a 4xx. */
const hostileRaw: fc.Arbitrary<Body> = fc.oneof(
	fc
		.constantFrom<[string, string]>(
			["malformed", '{"batch": ['],
			["malformed", "{"],
			["malformed", "not json"],
			["malformed", ""],
			["array body", "[1,2]"],
			["string body", '"batch"'],
			["null body", "null"],
			["number body", "42"],
			["batch not an array", '{"batch":"nope"}'],
			["batch missing", '{"events":[]}'],
			["batch null", '{"batch":null}'],
			[
				"too many events",
				`{"batch":[${new Array(2501).fill("{}").join(",")}]}`,
			],
			[
				"over 500 KB",
				`{"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":"${"x".repeat(520_000)}"}}]}`,
			],
		)
		.map(([why, text]) => ({ kind: "raw" as const, text, why })),
	fc
		.string({ unit: "binary", maxLength: 200 })
		.map((text) => ({ kind: "raw" as const, text, why: "random text" })),
	fc.constant({
		kind: "raw" as const,
		text: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
		why: "invalid UTF-8",
	}),
);

const writeKey = fc.constantFrom<string | null>(
	"wk_test_web_000",
	"wk_test_web_000",
	"wk_test_web_000",
	"wk_test_full_ip",
	"wk_test_no_ip_0",
	"wk_unknown_key_1",
	null,
);

const headers = fc.oneof(
	{ weight: 30, arbitrary: fc.constant<Record<string, string>>({}) },
	fc.constant({
		"user-agent": `Mozilla/5.0 ${"AppleWebKit/537.36 ".repeat(2_000)}`,
		origin: "https://shop.example.com",
	}),
	fc.constant({ "content-type": "application/xml" }),
	fc.constant({ "content-type": "application/x-www-form-urlencoded" }),
	fc.constant({ "content-encoding": "br" }),
	fc.constant({ "sec-gpc": "1", "cf-connecting-ip": "203.0.113.9" }),
);

/** A request: batch, import or single-call route, gzip or not, good or hostile. */
export const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc
	.record({
		route: fc.constantFrom("batch", "import", "single"),
		type: fc.constantFrom(...EVENT_TYPES),
		events: fc.array(generatedEvent, { minLength: 0, maxLength: 6 }),
		shared,
		hostile: fc.oneof(
			{ weight: 7, arbitrary: fc.constant(undefined) },
			{ weight: 1, arbitrary: hostileRaw },
		),
		writeKey,
		headers,
		gzip: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
		retry: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
	})
	.map((r): GeneratedRequest => {
		const first = r.events[0] ?? {
			event: { type: "track", event: "x", userId: "u", messageId: ID },
			intent: "valid" as Intent,
			why: [],
		};
		// A single-call route sets the type: an event goes to its own type's route, or to
		// /v1/track (where its type no longer decides anything) when it has none.
		const ownType = (first.event as { type?: unknown } | null)?.type;
		const typed = (EVENT_TYPES as readonly unknown[]).includes(ownType);
		const single: Body = {
			kind: "single",
			type: typed ? String(ownType) : "track",
			event: typed ? first : { ...first, intent: "either" },
		};
		const body: Body =
			r.hostile ??
			(r.route === "single"
				? single
				: { kind: "batch", events: r.events, shared: r.shared });
		return {
			path: `/v1/${body.kind === "single" ? body.type : r.route === "single" ? r.type : r.route}`,
			writeKey: r.writeKey,
			headers: r.headers,
			gzip: r.gzip,
			body,
			retry: r.retry,
		};
	});
