import { AnalyticsBrowser } from "@segment/analytics-next";
import type { Created, Setup } from "./setup";

/**
 * analytics-next with inline settings (no CDN request), its Segment.io destination pointed at
 * the local sink, and its batching delivery strategy at the same 20 events / 2 s as Conduit.
 */
export function create({ sink, writeKey }: Setup): Created {
	const host = new URL(sink).host;
	const browser = AnalyticsBrowser.load({
		writeKey,
		cdnURL: sink,
		cdnSettings: {
			integrations: {
				"Segment.io": {
					apiKey: writeKey,
					apiHost: `${host}/segment`,
					protocol: "http",
					deliveryStrategy: {
						strategy: "batching",
						config: { size: 20, timeout: 2000 },
					},
				},
			},
			metrics: { host: `${host}/segment`, sampleRate: 0 },
		},
	});
	return {
		ready: browser.then(([analytics]) => (event, properties) => {
			analytics.track(event, properties);
		}),
	};
}
