import { describe, expect, it } from "vitest";
import { settle } from "./settle";

const policy = { maxAttempts: 3, baseDelaySeconds: 10, maxDelaySeconds: 3600 };

describe("settle", () => {
	it("delivers on ok and counts the attempt", () => {
		expect(settle({ outcome: "ok", status: 200 }, 0, policy)).toEqual({
			status: "delivered",
			attempts: 1,
			lastStatus: 200,
		});
	});

	it("drops without counting an attempt: nothing was sent", () => {
		expect(
			settle({ outcome: "dropped", error: "no GA4 identify" }, 0, policy),
		).toEqual({ status: "dropped", attempts: 0, error: "no GA4 identify" });
	});

	it("fails a refusal for good, keeping the response and a disable request", () => {
		expect(
			settle(
				{
					outcome: "fatal",
					status: 410,
					error: "gone",
					responseBody: "{}",
					disable: true,
				},
				1,
				policy,
			),
		).toEqual({
			status: "failed",
			attempts: 2,
			lastStatus: 410,
			error: "gone",
			responseBody: "{}",
			disable: true,
		});
	});

	it("retries with backoff, or after Retry-After, until the attempts are used up", () => {
		const busy = {
			outcome: "retry-later",
			status: 503,
			error: "HTTP 503",
		} as const;
		expect(settle(busy, 0, policy, () => 0)).toMatchObject({
			status: "retrying",
			attempts: 1,
			delaySeconds: 5,
		});
		expect(settle(busy, 1, policy, () => 0)).toMatchObject({
			status: "retrying",
			attempts: 2,
			delaySeconds: 10,
		});
		expect(
			settle({ ...busy, status: 429, retryAfterSeconds: 120 }, 1, policy),
		).toMatchObject({ status: "retrying", delaySeconds: 120 });
		expect(settle(busy, 2, policy)).toEqual({
			status: "dead",
			attempts: 3,
			lastStatus: 503,
			error: "gave up after 3 attempts: HTTP 503",
		});
	});
});
