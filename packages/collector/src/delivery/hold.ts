import { STUCK_AFTER_MS, SWEEP_PERIOD_MS } from "./sweep";

/**
 * Per-profile ordering waits for an earlier event only while it is still being worked on; one
 * whose batch's next look is this long overdue stops holding the profile back. The sweeper
 * re-queues a stuck batch well before (refreshing its next look), so this only ends holds when
 * the sweeper is not running.
 */
export const ORDERING_STALE_MS = 10 * 60 * 1000;
/**
 * An event whose batch the sweeper queued again holds others back only this long past its next look: its new
 * message should be seen within seconds, and if it is not, it was lost again or cannot be
 * sent, so the profile's later events go ahead (the sweeper keeps at it until MAX_SWEEPS).
 */
export const SWEPT_STALE_MS = 60 * 1000;
/** Longest a held-back event waits before it is looked at again. */
export const MAX_HOLD_SECONDS = 3600;

/**
 * How long an event waits behind an earlier event of its profile whose next look by the
 * consumer is `nextLook` (epoch ms; the latest of them when there are several):
 * - ahead: until then, and a second more, so the earlier event has had its turn;
 * - past (queued and about to be sent, being sent, or its message lost): as long again as it
 *   is overdue, so a short race costs a second and a lost message costs a few doubling waits
 *   rather than a re-queue every second — but never past the moment the sweeper will have
 *   queued it again (nor, should the sweeper not run, past the moment the hold goes stale).
 *
 * @example
 * holdSeconds(now + 30_000, now) // 31: the earlier event's retry is in 30 s
 * holdSeconds(now - 500, now) // 1: it was just queued
 * holdSeconds(now - 120_000, now) // 120: two minutes overdue, maybe lost
 */
export function holdSeconds(nextLook: number, now: number): number {
	if (nextLook > now)
		return Math.min(MAX_HOLD_SECONDS, Math.ceil((nextLook - now) / 1000) + 1);
	const overdue = now - nextLook;
	const requeued = nextLook + STUCK_AFTER_MS + SWEEP_PERIOD_MS;
	const until = now < requeued ? requeued : nextLook + ORDERING_STALE_MS;
	const waitMs = Math.max(1000, Math.min(overdue, until - now));
	return Math.min(MAX_HOLD_SECONDS, Math.ceil(waitMs / 1000));
}
