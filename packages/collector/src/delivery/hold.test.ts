import { describe, expect, it } from "vitest";
import { holdSeconds, MAX_HOLD_SECONDS, ORDERING_STALE_MS } from "./hold";
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
