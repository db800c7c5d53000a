import type { SendContext, Verdict } from "../types";
import { outcomeOfStatus } from "./outcome";
import { retryAfterSeconds } from "./retry-after";

/** How much of an error response is kept for the log and the dead-letter queue. */
const MAX_BODY_CHARS = 4096;

/** A vendor's answer, read once: status, headers and (truncated) body text. */
export interface Answer {
	status: number;
	headers: Headers;
	body: string;
}

/**
 * Sends one request; a network error or timeout becomes `{ error }` instead of a rejection.
 *
 * @example
 * const answer = await call(ctx, url, { method: "POST", body });
 * if ("error" in answer) …
 */
export async function call(
	ctx: Pick<SendContext<unknown>, "fetch">,
	url: string,
	init: RequestInit,
): Promise<Answer | { error: string }> {
	try {
		const response = await ctx.fetch(url, init);
		const body = (await response.text()).slice(0, MAX_BODY_CHARS);
		return { status: response.status, headers: response.headers, body };
	} catch (error) {
		return { error: `network error: ${String(error)}` };
	}
}

/**
 * The verdict a whole request earns: by status (outcome.ts), with Retry-After honoured and the
 * response body kept for the dead-letter queue. A network error is `retry-later`.
 *
 * @example
 * verdictOf({ status: 429, headers: new Headers({ "retry-after": "30" }), body: "" }, Date.now())
 * // { outcome: "retry-later", status: 429, retryAfterSeconds: 30, error: "HTTP 429: " }
 */
export function verdictOf(
	answer: Answer | { error: string },
	now: number,
): Verdict {
	if ("error" in answer) return { outcome: "retry-later", error: answer.error };
	const { status, body } = answer;
	const error = `HTTP ${status}: ${body.slice(0, 500)}`;
	switch (outcomeOfStatus(status)) {
		case "ok":
			return { outcome: "ok", status };
		case "retry-later": {
			const after = retryAfterSeconds(answer.headers.get("retry-after"), now);
			return after === undefined
				? { outcome: "retry-later", status, error }
				: { outcome: "retry-later", status, error, retryAfterSeconds: after };
		}
		case "too-large":
			return { outcome: "too-large", status, error };
		case "fatal":
			return { outcome: "fatal", status, error, responseBody: body };
	}
}

/**
 * Sends items in chunks within a vendor's limits, one request per chunk, one after another
 * (a vendor's rate limit is per project, so parallel requests would only trip it). A chunk the
 * vendor finds too large (413) is halved and sent again at once; a single event that is still
 * too large is fatal.
 *
 * @example
 * await sendChunked(items, chunks, (part) => postOnce(part)) // one verdict per item
 */
export async function sendChunked<T>(
	chunks: T[][],
	sendChunk: (chunk: T[]) => Promise<Verdict[]>,
): Promise<Verdict[]> {
	const verdicts: Verdict[] = [];
	for (const part of chunks)
		verdicts.push(...(await sendSplitting(part, sendChunk)));
	return verdicts;
}

async function sendSplitting<T>(
	part: T[],
	sendChunk: (chunk: T[]) => Promise<Verdict[]>,
): Promise<Verdict[]> {
	const verdicts = await sendChunk(part);
	const tooLarge = verdicts.find((v) => v.outcome === "too-large");
	if (!tooLarge) return verdicts;
	if (part.length === 1)
		return [
			{
				outcome: "fatal",
				status: tooLarge.outcome === "too-large" ? tooLarge.status : undefined,
				error: `event too large for this destination: ${tooLarge.outcome === "too-large" ? tooLarge.error : ""}`,
			},
		];
	const half = Math.ceil(part.length / 2);
	return [
		...(await sendSplitting(part.slice(0, half), sendChunk)),
		...(await sendSplitting(part.slice(half), sendChunk)),
	];
}

/**
 * The same verdict for every item of a request the vendor answered as a whole.
 *
 * @example
 * repeat(verdictOf(answer, now), 3) // [v, v, v]
 */
export function repeat(verdict: Verdict, count: number): Verdict[] {
	return Array.from({ length: count }, () => verdict);
}

/**
 * Whether a verdict is a plain 400 with a body to read: the answer in which Mixpanel and
 * Amplitude name the records they refused, so the others need not fail with them.
 *
 * @example
 * if (mayNameRecords(verdict, answer)) rejected = parse(answer.body);
 */
export function mayNameRecords(
	verdict: Verdict,
	answer: Answer | { error: string },
): answer is Answer {
	return (
		verdict.outcome === "fatal" &&
		verdict.status === 400 &&
		!("error" in answer)
	);
}

/**
 * HTTP Basic credentials (RFC 7617).
 *
 * @example
 * basicAuth("wk_123", "") // "Basic d2tfMTIzOg=="
 */
export function basicAuth(user: string, password: string): string {
	const bytes = new TextEncoder().encode(`${user}:${password}`);
	return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
