import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/wrangler";
import { type LocalCollector, startCollector } from "./support/collector";
import { queryEvents, waitForRecords } from "./support/events";

const TOKEN = "parked-cli-test-token-0123456789abcdef";

let collector: LocalCollector;
beforeAll(async () => {
	collector = await startCollector({ secrets: { ADMIN_TOKEN: TOKEN } });
});
afterAll(() => collector?.close());

/** Runs `npm run parked -- …` as an operator would (tsx under the pinned Node). */
function parked(...args: string[]) {
	const result = spawnSync(
		process.execPath,
		[
			join(ROOT, "node_modules/tsx/dist/cli.mjs"),
			join(ROOT, "scripts/parked.ts"),
			...args,
			"--url",
			collector.url.origin,
		],
		{
			cwd: ROOT,
			encoding: "utf8",
			env: { ...process.env, ADMIN_TOKEN: TOKEN },
		},
	);
	return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

async function park(messageId: string, payload: string): Promise<number> {
	await collector.env.DB.prepare(
		"INSERT INTO parked (kind, source_id, message_id, reason, error, payload, parked_at) VALUES ('event', 'web', ?1, 'dead_lettered', 'gave up after 11 attempts', ?2, ?3)",
	)
		.bind(messageId, payload, new Date().toISOString())
		.first();
	const row = await collector.env.DB.prepare(
		"SELECT id FROM parked WHERE message_id = ?1",
	)
		.bind(messageId)
		.first<{ id: number }>();
	return row?.id ?? 0;
}

describe("npm run parked", () => {
	// Each command starts tsx (about 2 s): the test runs five.
	it("lists, shows and replays parked events through the admin API", {
		timeout: 60_000,
	}, async () => {
		const now = new Date().toISOString();
		const event = {
			type: "track",
			event: "Signed Up",
			userId: "cli-user",
			messageId: "cli-good-1",
			timestamp: now,
			receivedAt: now,
			context: {},
		};
		const good = await park("cli-good-1", JSON.stringify(event));
		const bad = await park("cli-bad-1", "{oops");

		const list = parked("list");
		expect(list.code).toBe(0);
		expect(list.out).toContain(`${good}\tevent\tdead_lettered\tweb/cli-good-1`);
		expect(list.out).toContain(`${bad}\tevent\tdead_lettered\tweb/cli-bad-1`);

		const show = parked("show", String(good));
		expect(show.code).toBe(0);
		expect(JSON.parse(show.out)).toMatchObject({
			id: good,
			reason: "dead_lettered",
			payload: { messageId: "cli-good-1", userId: "cli-user" },
		});

		const replay = parked("replay", String(good), String(bad));
		expect(replay.code).toBe(0);
		expect(replay.out).toContain("Replayed 1 row(s).");
		expect(replay.out).toContain(
			`Still parked: ${bad} (the parked payload is not JSON`,
		);
		// The replayed event goes through the real queue and consumer into storage.
		await waitForRecords(collector, (events) =>
			events.some((e) => e.event.messageId === "cli-good-1"),
		);
		expect(
			await queryEvents(
				collector,
				"SELECT messageId, userId FROM events WHERE messageId = 'cli-good-1'",
			),
		).toEqual([{ messageId: "cli-good-1", userId: "cli-user" }]);
		const after = parked("list", "--kind", "event");
		expect(after.out).not.toContain("cli-good-1");
		expect(after.out).toContain(`${bad}\tevent\treplay_refused`);
	});

	it("explains a refused token and a bad command", { timeout: 30_000 }, () => {
		const denied = spawnSync(
			process.execPath,
			[
				join(ROOT, "node_modules/tsx/dist/cli.mjs"),
				join(ROOT, "scripts/parked.ts"),
				"list",
				"--url",
				collector.url.origin,
				"--token",
				"wrong",
			],
			{ cwd: ROOT, encoding: "utf8" },
		);
		expect(denied.status).toBe(1);
		expect(denied.stderr).toContain("HTTP 401");
		const usage = parked("show", "nope");
		expect(usage.code).toBe(2);
		expect(usage.out).toContain("usage: npm run parked");
	});
});
