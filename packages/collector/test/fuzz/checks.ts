import { env } from "cloudflare:workers";
import { UNSAFE_KEYS } from "@conduit/protocol";
import { expect } from "vitest";
import { recordedEvents } from "../helpers/records";
import type { GeneratedRequest, Intent } from "./arbitraries";
import { PROTO } from "./arbitraries";

/*
 * The fuzzer's oracle: what every answer must look like, and what D1 must hold afterwards.
 */

/** One event of a case, as sent. `fuzzId` is set on every event that is an object. */
export interface SentEvent {
	event: unknown;
	intent: Intent;
	why: string[];
	fuzzId?: string;
}

/** What D1 must hold for one event: stored once (with these fields) or not at all. */
export interface Expected {
	accepted: boolean;
	properties?: unknown;
	traits?: unknown;
	messageId?: string;
}

export interface Answer {
	status: number;
	body: unknown;
}

interface Accepted {
	success: true;
	accepted: number;
	rejected: { index: number; messageId?: string; error: string }[];
}

/** A value safe to show in a failure report (a lone surrogate breaks the test runner's channel). */
export const shown = (value: unknown): string =>
	String(JSON.stringify(value)).slice(0, 300).toWellFormed();

/** Throws with the message (built only on failure) unless `condition` holds. */
export function check(condition: boolean, message: () => string): void {
	if (!condition) throw new Error(message());
}

/** What a single call's 400 may say: the event refused, or the request's body or encoding. */
const EVENT_REFUSALS = new Set(["invalid_event", "payload_too_large"]);
const SINGLE_CALL_REFUSALS = new Set([
	...EVENT_REFUSALS,
	"unsupported_encoding",
	"invalid_body",
]);

/**
 * Checks one answer: never a 5xx; a 4xx has the JSON error body; a 2xx accounts for every event
 * of the request exactly once (accepted, or rejected with its index, messageId and reason).
 * `items` is the body's events as the collector read them. Returns, for a 2xx, which events
 * were accepted.
 */
export function checkAnswer(
	request: GeneratedRequest,
	events: SentEvent[] | undefined,
	items: unknown[] | undefined,
	answer: Answer,
): boolean[] | undefined {
	const about = (what: string) => () =>
		`${what}: ${request.path} ${request.body.kind} → ${answer.status} ${shown(answer.body)}`;
	check(answer.status < 500, about("a 5xx"));
	if (answer.status >= 400) {
		const body = answer.body as Record<string, unknown>;
		check(
			Object.keys(body).sort().join() === "code,error,message,success" &&
				body.success === false &&
				typeof body.error === "string" &&
				body.code === body.error &&
				typeof body.message === "string",
			about("a 4xx without the JSON error body"),
		);
		const single = events?.[0];
		if (
			request.body.kind === "single" &&
			answer.status === 400 &&
			single?.fuzzId
		) {
			// A refusal of the event itself, or of the request as a whole: the content coding
			// (`content-encoding: br`, not gzip) or its bytes.
			check(
				SINGLE_CALL_REFUSALS.has(String(body.error)),
				about("a single call's 400"),
			);
			if (EVENT_REFUSALS.has(String(body.error)))
				check(
					single.intent !== "valid",
					about(`a valid event refused (${single.why})`),
				);
		}
		return undefined;
	}
	const body = answer.body as Accepted;
	check(
		answer.status === 200 && items !== undefined,
		about("an unexpected 2xx"),
	);
	check(
		Object.keys(body).sort().join() === "accepted,rejected,success" &&
			body.success === true &&
			Number.isInteger(body.accepted) &&
			Array.isArray(body.rejected),
		about("a 2xx body"),
	);
	const all = items ?? [];
	check(
		body.accepted + body.rejected.length === all.length,
		about(`accounting for ${all.length} events`),
	);
	if (request.body.kind === "single")
		check(body.rejected.length === 0, about("a single call's 200"));
	const rejectedAt = new Set<number>();
	let previous = -1;
	for (const rejection of body.rejected) {
		const item = all[rejection.index] as { messageId?: unknown } | null;
		const sentId =
			typeof item === "object" && item !== null && !Array.isArray(item)
				? item.messageId
				: undefined;
		check(
			Number.isInteger(rejection.index) &&
				rejection.index > previous &&
				rejection.index < all.length &&
				typeof rejection.error === "string" &&
				rejection.error !== "" &&
				rejection.messageId ===
					(typeof sentId === "string" ? sentId : undefined),
			about(`rejection ${shown(rejection)}`),
		);
		rejectedAt.add(rejection.index);
		previous = rejection.index;
	}
	return all.map((_, index) => !rejectedAt.has(index));
}

/** A value as the collector keeps it: JSON round trip, prototype keys dropped. */
export function normalised(value: unknown): unknown {
	if (value === undefined) return undefined;
	const drop = (v: unknown): unknown => {
		if (Array.isArray(v)) return v.map(drop);
		if (typeof v !== "object" || v === null) return v;
		const out: Record<string, unknown> = {};
		for (const [key, item] of Object.entries(v))
			if (!UNSAFE_KEYS.has(key) && key !== PROTO) out[key] = drop(item);
		return out;
	};
	return drop(JSON.parse(JSON.stringify(value)));
}

/**
 * Waits (bounded) until the consumer has stored `count` events of record and finished every
 * claim in the deduplication window; returns the events stored.
 */
export async function waitForConsumer(
	count: number,
	timeoutMs: number,
): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const n = (await recordedEvents()).length;
		const open = await env.DB.prepare(
			`SELECT COUNT(*) AS n FROM seen
WHERE NOT EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner)`,
		).first<number>("n");
		if ((n >= count && open === 0) || Date.now() > deadline) return n;
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

/**
 * Audits the events of record against what the answers promised: each accepted event stored
 * exactly once (in one object), with the messageId it was sent with and its properties and
 * traits intact; no rejected event and nothing unknown stored. Returns the problems found.
 */
export async function auditStore(
	expected: ReadonlyMap<string, Expected>,
): Promise<{ problems: string[]; storedOnce: number }> {
	const problems: string[] = [];
	const seen = new Map<string, number>();
	for (const { event } of await recordedEvents()) {
		const stored = event as unknown as Record<string, unknown>;
		const fuzzId = String(stored.fuzzId);
		seen.set(fuzzId, (seen.get(fuzzId) ?? 0) + 1);
		const want = expected.get(fuzzId);
		const wrong = (what: string) => problems.push(`${fuzzId}: ${what}`);
		if (!want?.accepted) {
			wrong(want ? "stored although rejected" : "stored but never sent");
			continue;
		}
		if (want.messageId !== undefined && stored.messageId !== want.messageId)
			wrong("messageId changed");
		if (!sameJson(stored.properties, want.properties)) wrong("properties");
		if (!sameJson(stored.traits, want.traits)) wrong("traits");
	}
	let storedOnce = 0;
	for (const [fuzzId, want] of expected) {
		const n = seen.get(fuzzId) ?? 0;
		if (want.accepted && n === 1) storedOnce += 1;
		else if (want.accepted) problems.push(`${fuzzId}: stored ${n} times`);
	}
	return { problems, storedOnce };
}

function sameJson(a: unknown, b: unknown): boolean {
	try {
		expect(a).toEqual(b);
		return true;
	} catch {
		return false;
	}
}
