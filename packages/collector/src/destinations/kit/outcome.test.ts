import { describe, expect, it } from "vitest";
import { outcomeOfStatus } from "./outcome";

describe("outcomeOfStatus", () => {
	it("treats every 2xx as delivered", () => {
		for (const status of [200, 201, 202, 204])
			expect(outcomeOfStatus(status)).toBe("ok");
	});

	it("retries network-ish failures: 408, 429 and 5xx", () => {
		for (const status of [408, 429, 500, 502, 503, 504, 599])
			expect(outcomeOfStatus(status)).toBe("retry-later");
	});

	it("splits on 413 and gives up on other 4xx (410 included) and on 501", () => {
		expect(outcomeOfStatus(413)).toBe("too-large");
		for (const status of [400, 401, 403, 404, 410, 422, 501])
			expect(outcomeOfStatus(status)).toBe("fatal");
	});
});
