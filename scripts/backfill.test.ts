import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackfillJob, main } from "./backfill";

const TOKEN = "cli-test-token-0123456789abcdefghijkl";

/**
 * A stand-in for the collector's backfills API on 127.0.0.1: it checks the token and the body
 * as the Worker does, creates job 7, and answers each later look with the next stage of its
 * progress (the last one repeats).
 */
let server: Server;
let url = "";
const seen: { method: string; path: string; body: unknown }[] = [];
let stages: Partial<BackfillJob>[] = [];

const job = (over: Partial<BackfillJob>): BackfillJob => ({
	id: 7,
	status: "running",
	destinationId: "hooks",
	from: "2026-11-01T00:00:00.000Z",
	to: "2026-11-02T00:00:00.000Z",
	steps: 0,
	objectsScanned: 0,
	eventsRead: 0,
	eventsSent: 0,
	error: null,
	position: null,
	...over,
});

beforeAll(async () => {
	server = createServer(async (request, response) => {
		let text = "";
		for await (const chunk of request) text += chunk;
		const body = text ? JSON.parse(text) : undefined;
		seen.push({ method: request.method ?? "", path: request.url ?? "", body });
		const answer = (status: number, value: unknown) => {
			response.writeHead(status, { "content-type": "application/json" });
			response.end(JSON.stringify(value));
		};
		if (request.headers.authorization !== `Bearer ${TOKEN}`)
			return answer(401, { success: false, error: "unauthorized" });
		if (request.method === "POST") {
			if (body.destination !== "hooks")
				return answer(404, {
					success: false,
					error: "unknown_destination",
					message: `No destination '${body.destination}' in the config`,
				});
			return answer(202, { success: true, backfill: job({}) });
		}
		const next = stages.length > 1 ? stages.shift() : stages[0];
		return answer(200, { success: true, backfill: job(next ?? {}) });
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

/** The flags every call passes: the stand-in, its token, a quick poll. */
const flags = () => ["--url", url, "--token", TOKEN, "--interval", "0.01"];

describe("npm run backfill", () => {
	it("starts a job and prints its progress until it is done", async () => {
		seen.length = 0;
		stages = [
			{
				objectsScanned: 2,
				eventsRead: 180,
				eventsSent: 150,
				position: { source: "web", hour: "2026-11-01T08:00:00.000Z" },
			},
			{
				objectsScanned: 2,
				eventsRead: 180,
				eventsSent: 150,
				position: { source: "web", hour: "2026-11-01T08:00:00.000Z" },
			},
			{ status: "done", objectsScanned: 5, eventsRead: 400, eventsSent: 320 },
		];
		const lines: string[] = [];
		const code = await main(
			[
				"hooks",
				"--from",
				"2026-11-01T00:00:00Z",
				"--to",
				"2026-11-02T00:00:00Z",
				"--sources",
				"web,server",
				...flags(),
			],
			(line) => lines.push(line),
		);
		expect(code).toBe(0);
		expect(seen[0]).toEqual({
			method: "POST",
			path: "/admin/backfills",
			body: {
				destination: "hooks",
				from: "2026-11-01T00:00:00Z",
				to: "2026-11-02T00:00:00Z",
				sources: ["web", "server"],
			},
		});
		expect(seen.slice(1).every((s) => s.path === "/admin/backfills/7")).toBe(
			true,
		);
		// A line per change, not per look.
		expect(lines).toEqual([
			"backfill 7 running: 0 objects, 0 events read, 0 sent",
			"backfill 7 running: 2 objects, 180 events read, 150 sent (at web 2026-11-01T08:00:00.000Z)",
			"backfill 7 done: 5 objects, 400 events read, 320 sent",
		]);
	});

	it("stops polling when --wait runs out, and says how to follow the job", async () => {
		stages = [{ objectsScanned: 1 }];
		const lines: string[] = [];
		const code = await main(
			["--status", "7", ...flags(), "--wait", "0.05"],
			(line) => lines.push(line),
		);
		expect(code).toBe(3);
		expect(lines.at(-1)).toBe(
			"backfill 7 is still running; follow it with: npm run backfill -- --status 7",
		);
	});

	it("reports the API's error and a failed job's", async () => {
		await expect(
			main(
				[
					"nope",
					"--from",
					"2026-11-01T00:00:00Z",
					"--to",
					"2026-11-02T00:00:00Z",
					...flags(),
				],
				() => {},
			),
		).rejects.toThrow(
			"HTTP 404: unknown_destination — No destination 'nope' in the config",
		);
		stages = [
			{
				status: "failed",
				error:
					"destination 'hooks' is no longer an enabled destination of the config",
			},
		];
		const lines: string[] = [];
		expect(
			await main(["--status", "7", ...flags()], (l) => lines.push(l)),
		).toBe(1);
		expect(lines).toEqual([
			"backfill 7 failed: 0 objects, 0 events read, 0 sent — last error: destination 'hooks' is no longer an enabled destination of the config",
		]);
		expect(await main(["hooks", "--from", "x", ...flags()], () => {})).toBe(2);
	});
});
