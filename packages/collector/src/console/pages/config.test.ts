import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_CONFIG, useConfig } from "../../../test/helpers";
import { createSession, SESSION_COOKIE } from "../session";

async function configPage(): Promise<string> {
	const { value } = await createSession(env.ADMIN_TOKEN, Date.now());
	const response = await exports.default.fetch(
		new Request("http://localhost/console/config", {
			headers: { Cookie: `${SESSION_COOKIE}=${value}` },
		}),
	);
	expect(response.status).toBe(200);
	return response.text();
}

describe("the console's config page", () => {
	it("names the secrets the config references that the Worker lacks", async () => {
		await useConfig({
			...TEST_CONFIG,
			destinations: [
				{
					id: "signed",
					type: "webhook",
					settings: {
						url: "https://hooks.example.com/in",
						secrets: [{ secret: "CONSOLE_TEST_UNSET_SECRET" }],
					},
				},
			],
		});
		const html = await configPage();
		expect(html).toContain('id="config-valid"');
		expect(html).toContain("1 of 1 secrets missing or refused");
		expect(html).toMatch(
			/<code>CONSOLE_TEST_UNSET_SECRET<\/code><\/td><td class="error">missing</,
		);
	});

	it("lists every validation error of an invalid document, and shows it as stored", async () => {
		await env.CONFIG.put(
			"config",
			JSON.stringify({ version: 1, sources: [{ id: "web" }], extra: true }),
		);
		const html = await configPage();
		expect(html).toContain('id="config-errors"');
		expect(html).toContain("extra: unknown key");
		expect(html).toContain("sources.0.writeKey: is required");
		await useConfig();
	});
});
