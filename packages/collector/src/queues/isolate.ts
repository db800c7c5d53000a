import { errorText } from "../errors";

/*
 * Poison isolation for the EVENTS consumer's stages. A stage runs on the whole batch first (one
 * round trip when all is well); only when that fails is the batch split in halves, and a failing
 * half split again, until each failure is pinned to single items. An item is refused only when
 * it fails on its own, twice, while others succeed: storage evidently works, and this item is
 * what it cannot take. Everything else is a systemic failure, and the caller retries the whole batch.
 */

/**
 * Errors that say nothing about the data: the platform was unavailable or busy. Whatever the batch holds, such a failure is retried as a whole, never
 * pinned on an item. The D1 texts are the ones its documentation lists as "retry the operation"
 * or "spread the load" (developers.cloudflare.com/d1/observability/debug-d1/).
 */
const SYSTEMIC: readonly RegExp[] = [
	/D1 DB reset because its code was updated/i,
	/Internal error (while starting up|in) D1 DB storage/i,
	/Network connection lost/i,
	/Cannot resolve D1 DB due to transient issue/i,
	/client disconnected/i,
	/D1 DB storage operation exceeded timeout/i,
	/D1 DB is overloaded/i,
	/D1 DB's isolate exceeded its memory limit/i,
	/D1 DB exceeded its CPU time limit/i,
];
// Identity's "lost a race" errors (identity/conflict.ts) are not listed: one event can raise
// them every time (an identifier that does not survive the trip to D1 unchanged, such as a
// lone surrogate, is never found again and is inserted again). A real race is retried five
// times inside identity already, and would have to be lost twice more, by the event on its
// own, while its neighbours pass, to be pinned on it.

/**
 * Whether an error is systemic: see {@link SYSTEMIC}.
 *
 * @example
 * isSystemic(new Error("D1_ERROR: Network connection lost.")) // true
 * isSystemic(new Error("D1_ERROR: malformed JSON: SQLITE_ERROR")) // false
 */
export function isSystemic(error: unknown): boolean {
	const text = errorText(error);
	return SYSTEMIC.some((pattern) => pattern.test(text));
}

/**
 * A stage failed in a way no single item explains: retry the whole batch.
 *
 * @example
 * catch (error) { if (error instanceof SystemicFailure) batch.retryAll(); }
 */
export class SystemicFailure extends Error {
	constructor(
		readonly stage: string,
		readonly failure: unknown,
	) {
		super(`${stage}: ${errorText(failure)}`);
		this.name = "SystemicFailure";
	}
}

/** An item a stage could not take, with the error it failed with on its own. */
export interface Refusal<T> {
	item: T;
	error: string;
}

/** What a stage did: the result of each part that succeeded, and the items it refused. */
export interface Isolated<T, R> {
	results: R[];
	refused: Refusal<T>[];
	/** Times the stage ran: 1 when the batch passed at once. */
	runs: number;
}

/**
 * Runs a stage on `items`, and on failure pins the failure on the items that cause it (see the
 * notes above). Gives up — throwing {@link SystemicFailure}, refusing nothing — when an error is
 * systemic, when no part has succeeded after the failures a descent to one poisoned item costs
 * (so an outage that speaks an unknown language costs a few runs, not one per item), or when
 * every part failed. The stage must be idempotent for the items it already ran on: a failed run
 * may have done part of its work.
 *
 * @throws SystemicFailure as described.
 * @example
 * const { results, refused } = await isolate("store", incoming, (part) => storeEvents(env.DB, part));
 */
export async function isolate<T, R>(
	stage: string,
	items: readonly T[],
	run: (part: T[]) => Promise<R>,
): Promise<Isolated<T, R>> {
	const state = {
		results: [] as R[],
		refused: [] as Refusal<T>[],
		runs: 0,
		successes: 0,
		failures: 0,
	};
	// A descent from the whole batch to one item fails once per level; allow about twice that
	// (a second poisoned item on the way) before deciding that nothing works.
	const budget = 2 * Math.ceil(Math.log2(Math.max(2, items.length))) + 2;
	const attempt = async (part: T[]): Promise<unknown> => {
		state.runs++;
		try {
			state.results.push(await run(part));
			state.successes++;
			return undefined;
		} catch (error) {
			state.failures++;
			if (isSystemic(error)) throw new SystemicFailure(stage, error);
			if (state.successes === 0 && state.failures > budget)
				throw new SystemicFailure(stage, error);
			return error ?? new Error("stage failed without an error");
		}
	};
	const split = async (part: T[]): Promise<void> => {
		if (part.length === 1) {
			// Once more on its own: a poisoned item fails every time, a passing blip does not.
			const again = await attempt(part);
			if (again !== undefined)
				state.refused.push({ item: part[0] as T, error: errorText(again) });
			return;
		}
		const middle = Math.ceil(part.length / 2);
		for (const half of [part.slice(0, middle), part.slice(middle)]) {
			const failed = await attempt(half);
			if (failed !== undefined) await split(half);
		}
	};

	if (items.length === 0) return { results: [], refused: [], runs: 0 };
	const first = await attempt([...items]);
	if (first === undefined)
		return { results: state.results, refused: [], runs: state.runs };
	// One item failing alone proves nothing about it: it may be storage that is down.
	if (items.length === 1) throw new SystemicFailure(stage, first);
	await split([...items]);
	const last = state.refused.at(-1);
	if (state.successes === 0)
		throw new SystemicFailure(stage, last?.error ?? first);
	return { results: state.results, refused: state.refused, runs: state.runs };
}
