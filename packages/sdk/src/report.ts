import type { ConduitError, ErrorCode, Options } from "./types";

/** How the SDK tells the page what went wrong, without ever throwing into it. */
export interface Reporter {
	/** Logs to the console in debug mode. */
	_log(...args: unknown[]): void;
	/** Hands a {@link ConduitError} to `onError` (and the debug log). */
	_report(code: ErrorCode, count: number, cause?: unknown): void;
	/** Wraps `fn` so that whatever it throws is reported as `internal` instead. */
	_safe<A extends unknown[], R>(
		fn: (...args: A) => R,
	): (...args: A) => R | undefined;
}

/**
 * The reporter for one instance's `debug` and `onError` options.
 *
 * @example
 * const r = reporter({ debug: true, onError: (e) => console.warn(e.code, e.count) });
 * r._report("overflow", 1);
 * const track = r._safe((name: string) => queue.add(name));
 */
export function reporter({
	debug,
	onError,
}: Pick<Options, "debug" | "onError">): Reporter {
	const r: Reporter = {
		_log: (...args) => debug && console.log("[conduit]", ...args),
		_report(code, count, cause) {
			const error: ConduitError = Object.assign(new Error(code, { cause }), {
				code,
				count,
			});
			r._log(error);
			try {
				onError?.(error);
			} catch {
				// The page's own handler failed: nothing sensible is left to tell it.
			}
		},
		_safe:
			(fn) =>
			(...args) => {
				try {
					return fn(...args);
				} catch (error) {
					r._report("internal", 0, error);
				}
			},
	};
	return r;
}
