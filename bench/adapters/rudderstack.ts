import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";
import type { Created, Setup, Track } from "./setup";

/**
 * RudderStack v3, plugins bundled (none fetched), the source config given inline instead of
 * fetched from the control plane, and its XHR queue batching at 20 events / 2 s.
 */
export function create({ sink, writeKey }: Setup): Created {
	const analytics = new RudderAnalytics();
	let loaded: () => void = () => {};
	const ready = new Promise<Track>((resolve) => {
		loaded = () =>
			resolve((event, properties) =>
				analytics.track(event, properties as never),
			);
	});
	analytics.load(writeKey, `${sink}/rudderstack`, {
		configUrl: sink,
		destSDKBaseURL: sink,
		pluginsSDKBaseURL: sink,
		plugins: ["XhrQueue"],
		logLevel: "ERROR",
		queueOptions: {
			batch: { enabled: true, maxItems: 20, flushInterval: 2000 },
		},
		getSourceConfig: () =>
			({
				source: {
					id: "bench",
					name: "bench",
					writeKey,
					enabled: true,
					workspaceId: "bench",
					destinations: [],
					config: {
						statsCollection: {
							errors: { enabled: false },
							metrics: { enabled: false },
						},
					},
				},
			}) as never,
		onLoaded: () => loaded(),
	});
	return { ready };
}
