import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { ApiError } from "../errors";
import { Count, parse } from "./parse";

const Query = v.strictObject({
	after: v.optional(Count(0, Number.MAX_SAFE_INTEGER), "0"),
	limit: v.optional(Count(1, 200), "50"),
});

function refusal(
	run: () => unknown,
): Pick<ApiError, "status" | "code" | "message"> {
	try {
		run();
	} catch (error) {
		if (error instanceof ApiError)
			return { status: error.status, code: error.code, message: error.message };
		throw error;
	}
	throw new Error("parse accepted the input");
}

describe("parse and Count", () => {
	it("turns text into numbers and fills defaults", () => {
		expect(parse(Query, { limit: "200" })).toEqual({ after: 0, limit: 200 });
		expect(
			parse(Count(1, Number.MAX_SAFE_INTEGER), "123456789012345", "id"),
		).toBe(123456789012345);
	});

	it("names each field at fault in one 400 invalid_request", () => {
		expect(
			refusal(() => parse(Query, { after: "-1", limit: "201" }, "query")),
		).toEqual({
			status: 400,
			code: "invalid_request",
			message: "after: must be a whole number; limit: must be at most 200",
		});
		expect(refusal(() => parse(Query, { limit: "0" })).message).toBe(
			"limit: must be at least 1",
		);
	});

	it("names a value without a path by the name given, else body", () => {
		expect(
			refusal(() => parse(Count(1, Number.MAX_SAFE_INTEGER), "abc", "id"))
				.message,
		).toBe("id: must be a whole number");
		expect(refusal(() => parse(v.string(), 7)).message).toMatch(/^body: /);
		expect(refusal(() => parse(Count(1, 9), "1234567890123456")).message).toBe(
			"body: must be a whole number",
		);
	});
});
