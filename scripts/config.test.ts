import { spawnSync } from "node:child_process";
import {
	copyFileSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { reservedSecret } from "../packages/collector/src/config/secret";
import { workerSecrets } from "./deploy/production-config";
import { ROOT } from "./wrangler";

const state = mkdtempSync(join(tmpdir(), "conduit-config-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

/** Runs `npm run config -- …` as a user would (tsx under the pinned Node), against a temporary local state. */
function config(...args: string[]) {
	const result = spawnSync(
		process.execPath,
		[
			join(ROOT, "node_modules/tsx/dist/cli.mjs"),
			join(ROOT, "scripts/config.ts"),
			...args,
		],
		{
			cwd: ROOT,
			encoding: "utf8",
		},
	);
	return { code: result.status, out: `${result.stdout}${result.stderr}` };
}
const local = ["--local", "--persist-to", state];

describe("npm run config", () => {
	it("validates the shipped configs and lists the secrets they reference", () => {
		expect(config("validate", "config/dev.json")).toMatchObject({
			code: 0,
			out: expect.stringContaining(
				"config/dev.json is valid: 2 source(s), 0 destination(s).",
			),
		});
		const example = config("validate", "config/example.json");
		expect(example.code).toBe(0);
		expect(example.out).toContain("2 source(s), 7 destination(s)");
		expect(example.out).toContain(
			"AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, GA4_API_SECRET, MIXPANEL_GDPR_TOKEN, MIXPANEL_SECRET, POSTHOG_PERSONAL_API_KEY, SEGMENT_API_TOKEN, SEGMENT_WRITE_KEY, WEBHOOK_SECRET",
		);
	});

	it("refuses to push an invalid config, listing every error, and leaves KV untouched", () => {
		const bad = join(state, "bad.json");
		writeFileSync(
			bad,
			JSON.stringify({
				version: 1,
				sources: [{ id: "Web!", writeKey: "x" }],
				destinations: [{ id: "h", type: "webhook", settings: {} }],
			}),
		);
		const result = config("push", bad, ...local);
		expect(result.code).toBe(1);
		expect(result.out).toContain("invalid (3 errors)");
		expect(result.out).toContain("sources.0.id");
		expect(result.out).toContain("sources.0.writeKey");
		expect(result.out).toContain("destinations.0.settings.url");
		expect(result.out).toContain("Nothing was pushed.");
		expect(config("pull", ...local)).toMatchObject({
			code: 1,
			out: expect.stringContaining("No config in KV yet."),
		});
	});

	// Five wrangler runs of 3–9 s each, depending on the machine's load.
	it("pushes to local KV, pulls it back, and diffs against a changed file", {
		timeout: 90_000,
	}, () => {
		expect(config("push", "config/dev.json", ...local)).toMatchObject({
			code: 0,
			out: expect.stringContaining(
				"Pushed config/dev.json to local CONFIG state",
			),
		});
		const pulled = join(state, "pulled.json");
		expect(config("pull", pulled, ...local).code).toBe(0);
		expect(JSON.parse(readFileSync(pulled, "utf8"))).toEqual(
			JSON.parse(readFileSync(join(ROOT, "config/dev.json"), "utf8")),
		);
		expect(config("diff", "config/dev.json", ...local)).toMatchObject({
			code: 0,
			out: expect.stringContaining("No differences"),
		});

		const changed = join(state, "changed.json");
		copyFileSync(join(ROOT, "config/dev.json"), changed);
		const document = JSON.parse(readFileSync(changed, "utf8"));
		document.sources[0].ipPolicy = "none";
		writeFileSync(changed, JSON.stringify(document));
		const diff = config("diff", changed, ...local);
		expect(diff.code).toBe(1);
		expect(diff.out).toContain('-      "ipPolicy": "truncate"');
		expect(diff.out).toContain('+      "ipPolicy": "none"');
	});

	it("refuses what could leak a secret, smuggle a header or reach an internal host (finding 9)", () => {
		const file = join(state, "hostile.json");
		const hostile = {
			version: 1,
			sources: [{ id: "web", writeKey: "wk_test_0123456789" }],
			destinations: [
				{
					id: "leak",
					type: "webhook",
					settings: {
						url: "http://169.254.169.254/latest/meta-data/",
						headers: {
							"X-Leak": { secret: "ADMIN_TOKEN" },
							"X-Split\r\nInjected": "1",
							"X-Value": "a\r\nInjected: 1",
							Host: "internal.example",
						},
					},
				},
				{
					id: "seg",
					type: "segment",
					settings: {
						writeKey: { secret: "SEGMENT_WRITE_KEY" },
						endpoint: "http://10.0.0.1",
					},
				},
			],
		};
		writeFileSync(file, JSON.stringify(hostile));
		const result = config("validate", file);
		expect(result.code).toBe(1);
		expect(result.out).toContain("is invalid (7 errors)");
		for (const line of [
			"destinations.0.settings.url: 169.254.169.254 is a link-local address",
			"destinations.0.settings.headers.X-Leak.secret: 'ADMIN_TOKEN' is the admin API's bearer token, not a destination credential",
			"destinations.0.settings.headers.X-Leak: a secret reference is only allowed in a credential header",
			"destinations.0.settings.headers.X-Split\r\nInjected: a header name is an RFC 9110 token",
			"destinations.0.settings.headers.X-Value: a header value may not contain CR, LF or NUL",
			"destinations.0.settings.headers.Host: 'Host' is set by the runtime or the webhook itself and cannot be configured",
			"destinations.1.settings.endpoint: 10.0.0.1 is a private address",
		])
			expect(result.out).toContain(line);

		// The development opt-in lets the hosts through, says so, and hides nothing else.
		writeFileSync(
			file,
			JSON.stringify({ ...hostile, allowPrivateNetwork: true }),
		);
		const opted = config("validate", file);
		expect(opted.out).toContain("is invalid (5 errors)");
		expect(opted.out).not.toContain("169.254.169.254");
		writeFileSync(
			file,
			JSON.stringify({
				...hostile,
				allowPrivateNetwork: true,
				destinations: [hostile.destinations[1]],
			}),
		);
		expect(config("validate", file)).toEqual({
			code: 0,
			out: expect.stringContaining(
				"It allows private, loopback and internal destination hosts (allowPrivateNetwork): for local development only.",
			),
		});
	});

	it("keeps the names destinations may not reference in step with wrangler.toml and the Worker's secrets", () => {
		const toml = parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as {
			vars?: Record<string, unknown>;
			[key: string]: unknown;
		};
		type Binding = { binding?: string; name?: string };
		const bindings = [
			"d1_databases",
			"kv_namespaces",
			"r2_buckets",
			"ratelimits",
			"services",
		]
			.flatMap((key) => (toml[key] as Binding[] | undefined) ?? [])
			.concat(
				(toml.durable_objects as { bindings?: Binding[] } | undefined)
					?.bindings ?? [],
			)
			.map((b) => b.binding ?? b.name)
			.filter((name) => name !== undefined);
		const producers =
			(toml.queues as { producers?: { binding: string }[] } | undefined)
				?.producers ?? [];
		const names = [
			...Object.keys(toml.vars ?? {}),
			...workerSecrets(),
			...bindings,
			...producers.map((p) => p.binding),
		];
		expect(names).toContain("ADMIN_TOKEN");
		expect(names).toContain("DB");
		expect(names.filter((name) => reservedSecret(name) === undefined)).toEqual(
			[],
		);
	});

	it("explains its usage", () => {
		expect(config("frobnicate")).toMatchObject({
			code: 2,
			out: expect.stringContaining("Unknown command 'frobnicate'"),
		});
		expect(
			config("push", "config/dev.json", "--local", "--remote"),
		).toMatchObject({ code: 2 });
	});
});
