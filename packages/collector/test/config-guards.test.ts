import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RefusedSecretError } from "../src/config/secret";
import { webhook } from "../src/destinations/webhook";
import {
	item,
	postBatch,
	received,
	sendContext,
	tenant,
	testConfig,
	trackEvent,
	vendorUrl,
} from "./delivery-helpers";
import { useConfig } from "./helpers";

/*
 * Finding 9, end to end: whatever way a config reaches KV, the Worker's admin token never reaches
 * a receiver. The document is validated each time the Worker reads it, and resolveSecret refuses
 * the name again when a destination asks for it.
 */
describe("the admin token and a destination", () => {
	it("a config written straight to KV with the admin token in a header is refused on read", async () => {
		const key = tenant();
		await useConfig(
			testConfig([
				{
					id: `leak-${key}`,
					type: "webhook",
					settings: {
						url: `${vendorUrl("webhook", key)}/in`,
						headers: { "X-Leak": { secret: "ADMIN_TOKEN" } },
					},
				},
			]),
		);
		const response = await postBatch([trackEvent()]);
		expect(response.status).toBe(503);
		expect(await response.json()).toMatchObject({ error: "config_invalid" });
		expect(await received("webhook", key)).toEqual([]);
	});

	it("a send that asks for it fails before any request, even with validation bypassed", async () => {
		const key = tenant();
		// Settings as a destination module would get them had validation been skipped.
		const settings = {
			url: `${vendorUrl("webhook", key)}/in`,
			secrets: [],
			headers: { Authorization: { secret: "ADMIN_TOKEN" } },
		};
		expect(env.ADMIN_TOKEN).toBeTruthy();
		await expect(webhook.send([item()], sendContext(settings))).rejects.toThrow(
			RefusedSecretError,
		);
		expect(await received("webhook", key)).toEqual([]);
	});
});
