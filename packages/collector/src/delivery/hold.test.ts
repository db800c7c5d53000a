import { describe, expect, it } from "vitest";
import {
	holdSeconds,
	MAX_HOLD_SECONDS,
	nextLooks,
	ORDERING_STALE_MS,
} from "./hold";
import { STUCK_AFTER_MS, SWEEP_PERIOD_MS } from "./sweep";

const now = Date.parse("2026-11-24T10:00:00.000Z");
const SECOND = 1000;

describe("holdSeconds", () => {
	it("waits until just after the earlier event's next attempt when it is ahead", () => {
		expect(holdSeconds(now + 30 * SECOND, now)).toBe(31);
		expect(holdSeconds(now + 10 * 3600 * SECOND, now)).toBe(MAX_HOLD_SECONDS);
	});

	it("waits a second for an earlier event that was just queued", () => {
		expect(holdSeconds(now - 200, now)).toBe(1);
		expect(holdSeconds(now, now)).toBe(1);
	});

	it("waits as long again as the earlier event is overdue, so waits double", () => {
		expect(holdSeconds(now - 8 * SECOND, now)).toBe(8);
		expect(holdSeconds(now - 100 * SECOND, now)).toBe(100);
	});

	it("never waits past the moment the sweeper has queued a lost event again", () => {
		const queuedLost = STUCK_AFTER_MS + SWEEP_PERIOD_MS;
		// Overdue by 4 minutes: waiting 4 more would pass the sweep at 6 minutes.
		expect(holdSeconds(now - 240 * SECOND, now)).toBe(
			(queuedLost - 240 * SECOND) / SECOND,
		);
	});

	it("does not spin once the sweep time has passed: it waits until the hold goes stale", () => {
		const overdue = STUCK_AFTER_MS + SWEEP_PERIOD_MS + 30 * SECOND;
		expect(holdSeconds(now - overdue, now)).toBe(
			(ORDERING_STALE_MS - overdue) / SECOND,
		);
	});

	it("sums to a handful of waits, not one every second, across a lost message's whole life", () => {
		const lostAt = now;
		let t = lostAt;
		let waits = 0;
		while (t - lostAt < ORDERING_STALE_MS && waits < 1000) {
			t += holdSeconds(lostAt, t) * SECOND + SECOND;
			waits++;
		}
		expect(waits).toBeLessThan(15);
	});
});

describe("nextLooks", () => {
	it("sees a message's events again after its longest retry, held ones included", () => {
		const looks = nextLooks(
			[{ keys: ["a", "b", "c", "d"] }],
			new Map([
				["a", { status: "retrying", delaySeconds: 60 }],
				["b", { status: "retrying", delaySeconds: 10 }],
				["c", { status: "held", delaySeconds: 5 }],
				["d", { status: "delivered" }],
			]),
		);
		expect(Object.fromEntries(looks)).toEqual({ a: 60, b: 60, c: 60 });
	});

	it("sees a held event after its own hold when its message is not retried", () => {
		const looks = nextLooks(
			[{ keys: ["a", "b"] }],
			new Map([
				["a", { status: "held", delaySeconds: 7 }],
				["b", { status: "delivered" }],
			]),
		);
		expect(Object.fromEntries(looks)).toEqual({ a: 7 });
	});

	it("takes the first of the messages that carry an event", () => {
		const looks = nextLooks(
			[{ keys: ["a", "b"] }, { keys: ["a"] }],
			new Map([
				["a", { status: "retrying", delaySeconds: 10 }],
				["b", { status: "retrying", delaySeconds: 90 }],
			]),
		);
		expect(looks.get("a")).toBe(10);
	});
});
