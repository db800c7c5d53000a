import { describe, expect, it } from "vitest";
import { parseConfig } from "./schema";

/*
 * Finding 9: a config must not be able to send the Worker's own secrets to a receiver, smuggle
 * header lines, or point the Worker at hosts on its own network. Each refusal names its path.
 */

const source = { id: "web", writeKey: "wk_test_0123456789" };

function errorsOf(document: Record<string, unknown>): string[] {
	const result = parseConfig({ version: 1, sources: [source], ...document });
	return result.ok ? [] : result.errors;
}

function hook(settings: Record<string, unknown>, extra = {}) {
	return {
		id: "hook",
		type: "webhook",
		settings: { url: "https://hooks.example.com/in", ...settings },
		...extra,
	};
}

describe("secret references", () => {
	it("refuse the admin token in a webhook header, as the finding sent it", () => {
		expect(
			errorsOf({
				destinations: [
					hook({ headers: { "X-Leak": { secret: "ADMIN_TOKEN" } } }),
				],
			}),
		).toEqual([
			"destinations.0.settings.headers.X-Leak.secret: 'ADMIN_TOKEN' is the admin API's bearer token, not a destination credential",
			"destinations.0.settings.headers.X-Leak: a secret reference is only allowed in a credential header (authorization, x-api-key, api-key, apikey, x-auth-token); 'X-Leak' would send it as ordinary data",
		]);
	});

	it("refuse the Worker's own names in every credential field, even where a secret belongs", () => {
		const errors = errorsOf({
			destinations: [
				hook({
					secrets: [{ secret: "DB" }],
					headers: { Authorization: { secret: "ADMIN_TOKEN" } },
				}),
				{
					id: "mp",
					type: "mixpanel",
					settings: {
						projectToken: "t",
						credentials: { secret: { secret: "CONFIG_CACHE_SECONDS" } },
					},
				},
				{
					id: "ga",
					type: "ga4",
					settings: {
						measurementId: "G-ABC123",
						apiSecret: { secret: "CLOUDFLARE_API_TOKEN" },
					},
				},
			],
		});
		expect(errors).toEqual([
			"destinations.0.settings.secrets.0.secret: 'DB' is a Worker binding, not a destination credential",
			"destinations.0.settings.headers.Authorization.secret: 'ADMIN_TOKEN' is the admin API's bearer token, not a destination credential",
			"destinations.1.settings.credentials.secret.secret: 'CONFIG_CACHE_SECONDS' is a Worker var, not a destination credential",
			"destinations.2.settings.apiSecret.secret: 'CLOUDFLARE_API_TOKEN' is reserved for the platform (CLOUDFLARE_…), not a destination credential",
		]);
	});

	it("are refused outside the credential fields", () => {
		const ref = { secret: "WEBHOOK_SECRET" };
		const errors = errorsOf({
			destinations: [
				hook(
					{ headers: { "X-Team": ref } },
					{
						name: ref,
						mapping: { events: { "Order Completed": ref } },
						filters: { where: [{ path: "userId", op: "eq", value: ref }] },
					},
				),
				{ id: "ph", type: "posthog", settings: { apiKey: ref } },
			],
		});
		expect(errors).toEqual([
			"destinations.0.name: Invalid type: Expected string but received Object",
			"destinations.0.filters.where.0.value: must be a string, number, boolean or null, or an array of them",
			"destinations.0.mapping.events.Order Completed: must be a non-empty string",
			"destinations.0.settings.headers.X-Team: a secret reference is only allowed in a credential header (authorization, x-api-key, api-key, apikey, x-auth-token); 'X-Team' would send it as ordinary data",
			"destinations.1.settings.apiKey: Invalid type: Expected string but received Object",
		]);
	});

	it("are taken by credential headers, in any case", () => {
		expect(
			errorsOf({
				destinations: [
					hook({
						headers: {
							authorization: { secret: "HOOK_AUTH" },
							"X-API-Key": { secret: "HOOK_KEY" },
							"X-Team": "growth",
						},
					}),
				],
			}),
		).toEqual([]);
	});
});

describe("webhook headers", () => {
	it("refuse CR, LF and anything outside an RFC 9110 token in names, and CR, LF, NUL in values", () => {
		const errors = errorsOf({
			destinations: [
				hook({
					headers: {
						"X-A\r\nX-Injected": "1",
						"X Space": "1",
						"X:Colon": "1",
						"": "1",
						"X-Value": "a\r\nX-Injected: 1",
						"X-Lf": "a\nb",
						"X-Nul": "a\u0000b",
					},
				}),
			],
		});
		const token = "a header name is an RFC 9110 token";
		expect(errors).toEqual([
			expect.stringMatching(
				/^destinations\.0\.settings\.headers\.X-A\r\nX-Injected: a header name is an RFC 9110 token/,
			),
			`destinations.0.settings.headers.X Space: ${token}: letters, digits and !#$%&'*+-.^_\`|~ only (no spaces, ':' or line breaks)`,
			expect.stringMatching(
				/^destinations\.0\.settings\.headers\.X:Colon: a header name/,
			),
			expect.stringMatching(
				/^destinations\.0\.settings\.headers\.: a header name/,
			),
			"destinations.0.settings.headers.X-Value: a header value may not contain CR, LF or NUL",
			"destinations.0.settings.headers.X-Lf: a header value may not contain CR, LF or NUL",
			"destinations.0.settings.headers.X-Nul: a header value may not contain CR, LF or NUL",
		]);
	});

	it("refuse Host, hop-by-hop fields, Content-Length and the webhook's own headers", () => {
		const names = [
			"Host",
			"connection",
			"Keep-Alive",
			"Transfer-Encoding",
			"TE",
			"Trailer",
			"Upgrade",
			"Proxy-Authorization",
			"proxy-connection",
			"Content-Length",
			"Content-Type",
			"webhook-id",
			"Webhook-Timestamp",
			"webhook-signature",
		];
		const errors = errorsOf({
			destinations: [
				hook({ headers: Object.fromEntries(names.map((n) => [n, "x"])) }),
			],
		});
		expect(errors).toEqual(
			names.map(
				(n) =>
					`destinations.0.settings.headers.${n}: '${n}' is set by the runtime or the webhook itself and cannot be configured`,
			),
		);
	});

	it("refuse two names that differ only in case", () => {
		expect(
			errorsOf({
				destinations: [hook({ headers: { "X-Team": "a", "x-team": "b" } })],
			}),
		).toEqual([
			"destinations.0.settings.headers.x-team: 'x-team' repeats another header's name (names are case-insensitive)",
		]);
	});
});

describe("destination URLs", () => {
	const internal = {
		destinations: [
			hook({ url: "http://169.254.169.254/latest/meta-data/" }),
			{
				id: "mp",
				type: "mixpanel",
				settings: {
					projectToken: "t",
					credentials: { secret: { secret: "MIXPANEL_SECRET" } },
					endpoint: "http://10.0.0.1",
					deletion: {
						token: { secret: "MIXPANEL_GDPR_TOKEN" },
						endpoint: "http://2130706433/",
					},
				},
			},
			{
				id: "seg",
				type: "segment",
				settings: {
					writeKey: { secret: "SEGMENT_WRITE_KEY" },
					endpoint: "http://[::ffff:127.0.0.1]:4100",
				},
			},
		],
	};

	it("refuse private, loopback, link-local and internal hosts, naming the path and the opt-in", () => {
		const optIn =
			'private, loopback and internal hosts need "allowPrivateNetwork": true at the top of the config (local development only)';
		expect(errorsOf(internal)).toEqual([
			`destinations.0.settings.url: 169.254.169.254 is a link-local address; ${optIn}`,
			`destinations.1.settings.endpoint: 10.0.0.1 is a private address; ${optIn}`,
			`destinations.1.settings.deletion.endpoint: 127.0.0.1 is a loopback address; ${optIn}`,
			`destinations.2.settings.endpoint: ::ffff:7f00:1 is IPv4-mapped: 127.0.0.1 is a loopback address; ${optIn}`,
		]);
	});

	it("take them with allowPrivateNetwork: true, which hides no other error", () => {
		const allowed = parseConfig({
			version: 1,
			allowPrivateNetwork: true,
			sources: [source],
			...internal,
		});
		if (!allowed.ok) throw new Error(allowed.errors.join("\n"));
		expect(allowed.config.config.allowPrivateNetwork).toBe(true);
		expect(allowed.config.destinationsById.get("mp")?.settings).toMatchObject({
			endpoint: "http://10.0.0.1",
		});
		expect(
			errorsOf({
				allowPrivateNetwork: true,
				destinations: [
					hook({ url: "http://10.0.0.1/", headers: { Host: "x" } }),
				],
			}),
		).toEqual([
			"destinations.0.settings.headers.Host: 'Host' is set by the runtime or the webhook itself and cannot be configured",
		]);
		expect(errorsOf({ allowPrivateNetwork: "yes" })).toEqual([
			'allowPrivateNetwork: Invalid type: Expected boolean but received "yes"',
		]);
	});
});
