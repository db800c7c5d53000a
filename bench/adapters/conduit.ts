import { createAnalytics } from "@conduit/sdk";
import type { Setup } from "./setup";

/** Conduit with its defaults: batches of 20 or every 2 s. */
export async function init({ sink, writeKey }: Setup) {
	const analytics = createAnalytics({ writeKey, endpoint: `${sink}/conduit` });
	await new Promise<void>((resolve) => analytics.ready(resolve));
	return (event: string, properties: Record<string, unknown>) =>
		analytics.track(event, properties as never);
}
