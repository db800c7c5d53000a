import { createAnalytics } from "@conduit/sdk";
import type { Created, Setup } from "./setup";

/** Conduit with its defaults: batches of 20 or every 2 s. */
export function create({ sink, writeKey }: Setup): Created {
	const analytics = createAnalytics({ writeKey, endpoint: `${sink}/conduit` });
	return {
		ready: new Promise((resolve) =>
			analytics.ready(() =>
				resolve((event, properties) =>
					analytics.track(event, properties as never),
				),
			),
		),
	};
}
