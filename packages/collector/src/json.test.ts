import { describe, expect, it } from "vitest";
import { parseJson } from "./json";

describe("parseJson", () => {
	it("parses like JSON.parse", () => {
		expect(parseJson('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: "c" }] });
		expect(() => parseJson("{")).toThrow(SyntaxError);
	});

	it("drops __proto__, constructor and prototype keys at every depth, also when escaped", () => {
		const parsed = parseJson(
			'{"a":{"__proto__":{"x":1},"constructor":{"prototype":{"x":1}},"k":1},"\\u005f_proto__":{"x":1}}',
		) as Record<string, Record<string, unknown>>;
		expect(parsed).toEqual({ a: { k: 1 } });
		expect(Object.getPrototypeOf(parsed.a)).toBe(Object.prototype);
		expect(({} as Record<string, unknown>).x).toBeUndefined();
	});

	it("parses bodies nested far deeper than the call stack, escapes and all", () => {
		const levels = 200_000;
		const text = `{"k\\u0041":${"[".repeat(levels)}{"__proto__":1}${"]".repeat(levels)}}`;
		let value = (parseJson(text) as Record<string, unknown>).kA;
		for (let i = 0; i < levels; i++) value = (value as unknown[])[0];
		expect(value).toEqual({});
	});
});
