/** Keys that reach an object's prototype when assigned: never copied from client input. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set([
	"__proto__",
	"constructor",
	"prototype",
]);

/** Cheap pre-check: only a body that could spell an unsafe key (also via \u escapes) pays for the reviver. */
const MAYBE_UNSAFE = /__proto__|"constructor"|"prototype"|\\u/;

/**
 * JSON.parse that drops `__proto__`, `constructor` and `prototype` keys at every depth, so no
 * later copy or merge of client data can reach a prototype.
 *
 * @throws SyntaxError on malformed JSON, like JSON.parse.
 * @example
 * parseJson('{"a":1,"__proto__":{"polluted":true}}') // { a: 1 }
 */
export function parseJson(text: string): unknown {
	if (!MAYBE_UNSAFE.test(text)) return JSON.parse(text);
	return JSON.parse(text, (key, value) =>
		UNSAFE_KEYS.has(key) ? undefined : value,
	);
}
