import type { Analytics } from "./types";

/**
 * A call recorded by the snippet: method (`set` is `consent.set`), arguments, and the time and
 * page it was made on.
 *
 * @example
 * const call: Call = ["track", ["Signed Up"], Date.now(), location.href, document.title];
 */
export type Call = [string, unknown[], number?, string?, string?];

/**
 * The SDK as its entry points hold it: the public API, plus `_call` to replay recorded calls.
 *
 * @example
 * const instance: Instance = start(options, browserRuntime(), calls);
 * instance._call(["page", []]);
 */
export type Instance = Analytics & { _call(call: Call): void };
