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
import { afterAll, describe, expect, it } from "vitest";
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

	it("pushes to local KV, pulls it back, and diffs against a changed file", () => {
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
