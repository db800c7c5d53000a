import type { Call } from "./call";
import { browserRuntime } from "./runtime";
import { start } from "./start";
import type { Options } from "./types";

/*
 * The script-tag build's entry: takes over `window.conduit` from the snippet. Options come from
 * the tag's `data-write-key` and `data-endpoint`, and from `conduit.options` set by the page
 * (which win). Recorded calls are replayed in order; a stub still held in a variable is then
 * forwarded through its swapped `push`.
 */
type Stub = Call[] & { options?: Partial<Options> };
const w = window as unknown as { conduit?: Stub };
const stub = w.conduit;
if (!stub || Array.isArray(stub)) {
	const data = (document.currentScript as HTMLScriptElement | null)?.dataset;
	const api = start(
		{
			writeKey: data?.writeKey as string,
			endpoint: data?.endpoint as string,
			...stub?.options,
		},
		browserRuntime(),
		stub?.slice(),
	);
	if (stub)
		stub.push = (...calls: Call[]) => {
			for (const call of calls) api._call(call);
			return 0;
		};
	w.conduit = api as unknown as Stub;
}
