import type { TestProject } from "vitest/node";
import { amplitudeApi } from "./amplitude";
import { ga4Collect } from "./ga4";
import { mixpanelApi } from "./mixpanel";
import { startMockServer, type VendorHandler } from "./mock-server";
import { posthogCapture } from "./posthog";
import type { VendorName } from "./secrets";
import { segmentApi } from "./segment";
import { webhookReceiver } from "./webhook";

const HANDLERS: Record<VendorName, VendorHandler> = {
	webhook: webhookReceiver,
	segment: segmentApi,
	ga4: ga4Collect,
	mixpanel: mixpanelApi,
	amplitude: amplitudeApi,
	posthog: posthogCapture,
};

/**
 * Starts one local server per vendor (on 127.0.0.1, free ports) for the whole run, and hands
 * their base URLs to the tests as `inject("vendors")`.
 */
export default async function setup(project: TestProject) {
	const started = await Promise.all(
		Object.entries(HANDLERS).map(
			async ([name, handler]) =>
				[name, await startMockServer(handler)] as const,
		),
	);
	project.provide(
		"vendors",
		Object.fromEntries(started.map(([name, { url }]) => [name, url])) as Record<
			VendorName,
			string
		>,
	);
	return async () => {
		await Promise.all(
			started.map(
				([, { server }]) => new Promise((resolve) => server.close(resolve)),
			),
		);
	};
}
