import { AnalyticsBrowser } from "@segment/analytics-next";
import type { Setup } from "./setup";

/**
 * analytics-next with inline settings (no CDN request), its Segment.io destination pointed at
 * the local sink, and its batching delivery strategy at the same 20 events / 2 s as Conduit.
 */
export async function init({ sink, writeKey }: Setup) {
	const host = new URL(sink).host;
	const [analytics] = await AnalyticsBrowser.load({
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
	return (event: string, properties: Record<string, unknown>) => {
		analytics.track(event, properties);
	};
}
