import { expect, it } from "vitest";
import { outcome } from "./outcome";

it("classifies every status family once", () => {
	const table = Object.fromEntries(
		[0, 200, 204, 400, 401, 403, 404, 408, 413, 415, 425, 429, 500, 503].map(
			(status) => [status, outcome(status)],
		),
	);
	expect(table).toEqual({
		0: "retry-later",
		200: "ok",
		204: "ok",
		400: "fatal",
		401: "fatal",
		403: "fatal",
		404: "fatal",
		408: "retry-later",
		413: "too-large",
		415: "fatal",
		425: "retry-later",
		429: "retry-later",
		500: "retry-later",
		503: "retry-later",
	});
});

it("splits a batch the collector refuses as too large, whichever status it uses", () => {
	expect(outcome(400, "payload_too_large")).toBe("too-large");
	expect(outcome(400, "invalid_json")).toBe("fatal");
	expect(outcome(413, undefined)).toBe("too-large");
});
