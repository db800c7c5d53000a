import { UNSAFE_KEYS, type WireObject } from "@conduit/protocol";

/** Cheap pre-check: only a body that could spell an unsafe key (also via \u escapes) is walked. */
const MAYBE_UNSAFE = /__proto__|"constructor"|"prototype"|\\u/;

/**
 * JSON.parse that drops `__proto__`, `constructor` and `prototype` keys at every depth, so no
 * later copy or merge of client data can reach a prototype. (JSON.parse itself only ever
 * defines such keys as own properties.) The keys are removed by a walk with its own stack, not
 * by a reviver: V8 calls a reviver recursively, which overflows on a body nested some
 * thousands of levels deep and would refuse the whole request for one deep event.
 *
 * @throws SyntaxError on malformed JSON, like JSON.parse.
 * @example
 * parseJson('{"a":1,"__proto__":{"polluted":true}}') // { a: 1 }
 */
export function parseJson(text: string): unknown {
	const value: unknown = JSON.parse(text);
	if (MAYBE_UNSAFE.test(text)) dropUnsafeKeys(value);
	return value;
}

function dropUnsafeKeys(root: unknown): void {
	const pending: unknown[] = [root];
	for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
		if (typeof value !== "object" || value === null) continue;
		if (Array.isArray(value)) {
			for (const item of value)
				if (typeof item === "object" && item !== null) pending.push(item);
			continue;
		}
		const object = value as WireObject;
		for (const key of Object.keys(object)) {
			if (UNSAFE_KEYS.has(key)) delete object[key];
			else if (typeof object[key] === "object" && object[key] !== null)
				pending.push(object[key]);
		}
	}
}
