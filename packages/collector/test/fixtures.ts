import { fixtureEvents } from "./helpers";

/**
 * Fixture events made fresh for one test: unique messageIds (so no other test's copy is a
 * duplicate) and timestamps moved to now, keeping their order (GA4 takes events at most 72 hours old).
 */
export function freshFixtures(
	filter: (event: Record<string, unknown>) => boolean,
	count: number,
	tag: string,
) {
	const now = Date.now();
	return fixtureEvents
		.filter(filter)
		.slice(0, count)
		.map((event, i) => ({
			...event,
			messageId: `${tag}_${event.messageId as string}`,
			timestamp: new Date(now - (count - i) * 1000).toISOString(),
		}));
}

/** Whether a fixture event's consent preferences grant marketing. */
export function grantsMarketing(event: Record<string, unknown>): boolean {
	const context = event.context as {
		consent?: { categoryPreferences?: { marketing?: boolean } };
	};
	return context.consent?.categoryPreferences?.marketing === true;
}
