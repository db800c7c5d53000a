import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clearConfigCache, loadConfig } from "../src/config/load";
import {
	expand,
	type GeneratedRequest,
	generatedRequest,
	ID,
	PROTO,
} from "./fuzz/arbitraries";
import {
	type Answer,
	auditStore,
	check,
	checkAnswer,
	type Expected,
	normalised,
	type SentEvent,
	shown,
	waitForConsumer,
} from "./fuzz/checks";
import { post, useConfig } from "./helpers";

/*
 * Property-based fuzzing of the ingest path inside workerd, through the real Worker, its real
 * EVENTS queue, queue consumer and D1. Each case is one request (a resend of it is a second
 * request); each property run sends 8 cases at once. Per request: a 2xx whose accepted/rejected
 * accounting is exact, or a 4xx with the JSON error body; never a 5xx. After all cases: every
 * event a 2xx accepted is stored exactly once, whole and processed, nothing rejected is stored,
 * and no consumer batch failed. The figures are printed as one JSON line (vitest shows the
 * logs of passing tests with --silent=false).
 *
 * fast-check reports the seed of a failing run: put it in SEED to replay the same cases.
 */

/** Requests per property run, sent concurrently (workerd serves them interleaved, as in production). */
const CONCURRENCY = 8;
const CASES = 10_000;
const SEED = Date.now() % 2 ** 31;

// The config is read once and kept in the isolate's cache, as production keeps it for
// CONFIG_CACHE_SECONDS; the test bindings' 0 would re-read and re-validate it from KV for each
// of the requests and consumer batches, which costs more than ingest itself.
beforeAll(async () => {
	await useConfig();
	await loadConfig({ ...env, CONFIG_CACHE_SECONDS: "3600" } as unknown as Env);
});
afterAll(() => clearConfigCache());

const expected = new Map<string, Expected>();
const figures = {
	requests: 0,
	byStatus: {} as Record<string, number>,
	eventsSent: 0,
	accepted: 0,
	rejected: 0,
	msInRequests: 0,
};
let nextId = 0;

/** The body text of a case, with a unique fuzzId on each event and its messageId filled in. */
function materialise(request: GeneratedRequest): {
	payload: string | Uint8Array;
	events?: SentEvent[];
	/** The events as the collector reads them from the payload. */
	items?: unknown[];
} {
	const { body } = request;
	if (body.kind === "raw") return { payload: body.text };
	const generated = body.kind === "batch" ? body.events : [body.event];
	const events: SentEvent[] = generated.map(({ event, intent, why }) => {
		const copy = expand(event);
		if (typeof copy !== "object" || copy === null || Array.isArray(copy))
			return { event: copy, intent, why };
		nextId += 1;
		const fuzzId = `f${SEED}_${nextId}`;
		const object = copy as Record<string, unknown>;
		object.fuzzId = fuzzId;
		if (typeof object.messageId === "string")
			object.messageId = object.messageId.replace(ID, `m_${fuzzId}`);
		return { event: copy, intent, why, fuzzId };
	});
	const value =
		body.kind === "batch"
			? {
					...(expand(body.shared.fields) as object),
					batch: events.map((e) => e.event),
				}
			: events[0]?.event;
	const payload = JSON.stringify(value).replaceAll(`"${PROTO}"`, '"__proto__"');
	const items = events.map((e) => e.event);
	if (body.kind !== "batch" || !body.shared.spoils)
		return { payload, events, items };
	// A batch-level field the event does not override can make it invalid.
	const { spoils } = body.shared;
	return {
		payload,
		items,
		events: events.map((e) => {
			const own = e.event as Record<string, unknown>;
			if (!e.fuzzId) return e;
			// A null field is an absent one: the batch's value fills it.
			const takesContext =
				own.context == null ||
				(typeof own.context === "object" &&
					own.context !== null &&
					!Array.isArray(own.context));
			const spoiled = spoils === "context" ? takesContext : own.sentAt == null;
			return spoiled
				? { ...e, intent: "invalid", why: [...e.why, `batch ${spoils}`] }
				: e;
		}),
	};
}

/**
 * Whether resending the request must not store anything twice: every event has a messageId or
 * a timestamp. (An event with neither gets a fresh ULID per request, as Segment does: a resend
 * is a new event.)
 */
function safeToResend(events: SentEvent[] | undefined): boolean {
	return (events ?? []).every((e) => {
		const event = e.event as Record<string, unknown> | null;
		return (
			!e.fuzzId ||
			typeof event?.messageId === "string" ||
			typeof event?.timestamp === "string" ||
			typeof event?.originalTimestamp === "string"
		);
	});
}

async function send(
	request: GeneratedRequest,
	payload: string | Uint8Array,
): Promise<Answer> {
	const started = Date.now();
	const response = await post(request.path, null, {
		raw: payload as BodyInit,
		gzip: request.gzip,
		writeKey: request.writeKey,
		headers: request.headers,
	});
	const body: unknown = await response.json();
	figures.msInRequests += Date.now() - started;

	figures.requests += 1;
	const status = String(response.status);
	figures.byStatus[status] = (figures.byStatus[status] ?? 0) + 1;
	return { status: response.status, body };
}

/** Records what D1 must hold for each event of a 2xx, and checks each event's intent. */
function record(
	request: GeneratedRequest,
	events: SentEvent[],
	accepted: boolean[],
): void {
	events.forEach((e, index) => {
		const ok = accepted[index] === true;
		const about = (what: string) => () =>
			`${what} ${request.path}: ${e.why.join(", ")} ${shown(e.event)}`;
		if (e.intent === "valid") check(ok, about("must accept"));
		if (e.intent === "invalid") check(!ok, about("must reject"));
		if (!e.fuzzId) check(!ok, about("accepted an event that is not an object"));
		figures.eventsSent += 1;
		if (ok) figures.accepted += 1;
		else figures.rejected += 1;
		if (!e.fuzzId) return;
		const event = e.event as Record<string, unknown>;
		// Only accepted events are compared with D1; rejected ones may nest past any stack.
		expected.set(
			e.fuzzId,
			ok
				? {
						accepted: true,
						// A top-level null is a field the client did not set.
						properties: normalised(event.properties ?? undefined),
						traits: normalised(event.traits ?? undefined),
						messageId:
							typeof event.messageId === "string" ? event.messageId : undefined,
					}
				: { accepted: false },
		);
	});
}

/** One case: the request, the checks on its answer, a resend when the case asks for one. */
async function runCase(request: GeneratedRequest): Promise<void> {
	const { payload, events, items } = materialise(request);
	const answer = await send(request, payload);
	const accepted = checkAnswer(request, events, items, answer);
	if (request.retry && safeToResend(events)) {
		const again = await send(request, payload);
		check(
			JSON.stringify(again) === JSON.stringify(answer),
			() => `a resend got ${shown(again)}, the first ${shown(answer)}`,
		);
	}
	if (accepted && events) record(request, events, accepted);
}

describe("ingest fuzzing", () => {
	const consumerFailures: string[] = [];
	const logError = console.error.bind(console);
	const errorSpy = vi.spyOn(console, "error").mockImplementation((...args) => {
		const line = args.map(String).join(" ");
		if (line.includes("event batch failed")) consumerFailures.push(line);
		logError(...args);
	});
	afterAll(() => errorSpy.mockRestore());

	it("answers every request with an exact 2xx or a 4xx, never a 5xx, and stores exactly what it accepted", {
		timeout: 600_000,
	}, async () => {
		const started = Date.now();
		await fc.assert(
			fc.asyncProperty(
				fc.array(generatedRequest, {
					minLength: CONCURRENCY,
					maxLength: CONCURRENCY,
				}),
				async (requests) => {
					await Promise.all(requests.map(runCase));
				},
			),
			{ numRuns: CASES / CONCURRENCY, seed: SEED, endOnFailure: true },
		);
		const sendingSeconds = (Date.now() - started) / 1000;

		const acceptedEvents = [...expected.values()].filter((e) => e.accepted);
		const rowsStored = await waitForConsumer(acceptedEvents.length, 120_000);
		const { problems, storedOnce } = await auditStore(expected);
		console.log(
			JSON.stringify({
				fuzz: "ingest",
				seed: SEED,
				cases: CASES,
				requests: figures.requests,
				requestsByStatus: figures.byStatus,
				eventsSent: figures.eventsSent,
				eventsAccepted: figures.accepted,
				eventsRejected: figures.rejected,
				distinctEventsAccepted: acceptedEvents.length,
				rowsStored,
				storedExactlyOnce: storedOnce,
				problems: problems.length,
				consumerBatchFailures: consumerFailures.length,
				msPerRequest: +(figures.msInRequests / figures.requests).toFixed(2),
				sendingSeconds,
				totalSeconds: (Date.now() - started) / 1000,
			}),
		);
		expect(problems.slice(0, 20)).toEqual([]);
		expect(rowsStored).toBe(acceptedEvents.length);
		expect(storedOnce).toBe(acceptedEvents.length);
		expect(consumerFailures).toEqual([]);
	});
});
