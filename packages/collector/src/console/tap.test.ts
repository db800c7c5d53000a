import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { countingD1 } from "../identity/d1-counter";
import { countsSince, setWatchedUntil } from "./counters";
import { LIVE_TAIL_NAME } from "./live-tail";
import { tapBatch, tapRejections } from "./tap";

function event(
	n: number,
	receivedAt: string,
): { sourceId: string; event: EnrichedEvent } {
	return {
		sourceId: n % 2 === 0 ? "web" : "backend",
		event: {
			type: "track",
			event: `Event ${n}`,
			messageId: `m-${n}`,
			userId: `u-${n}`,
			timestamp: receivedAt,
			receivedAt,
			context: { profileId: `prof_${n}` },
		},
	};
}

/** A socket on the live-tail object, as the console page holds one; collects what it gets. */
async function watcher() {
	const hub = env.CONSOLE_LIVE.get(env.CONSOLE_LIVE.idFromName(LIVE_TAIL_NAME));
	const response = await hub.fetch("http://console/live/socket", {
		headers: { Upgrade: "websocket" },
	});
	const socket = response.webSocket;
	if (!socket) throw new Error("no WebSocket");
	socket.accept();
	const messages: {
		items: { kind: string; messageId?: string; error?: string }[];
	}[] = [];
	socket.addEventListener("message", (m) =>
		messages.push(JSON.parse(String(m.data))),
	);
	return { socket, messages };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

beforeEach(async () => {
	await env.DB.exec(
		"DELETE FROM console_event_counts; DELETE FROM console_watch",
	);
});

describe("the console tap", () => {
	it("counts a batch of any size in one D1 round trip, summed per source and minute", async () => {
		const d1 = countingD1(env.DB);
		const events = Array.from({ length: 250 }, (_, n) =>
			event(
				n,
				n < 200 ? "2026-12-01T10:00:30.000Z" : "2026-12-01T10:01:05.000Z",
			),
		);
		await tapBatch(d1.db, events);
		expect(d1.calls).toBe(1);
		expect(await countsSince(env.DB, "2026-12-01T00:00")).toEqual([
			{
				sourceId: "backend",
				minute: "2026-12-01T10:00",
				accepted: 100,
				rejected: 0,
			},
			{
				sourceId: "web",
				minute: "2026-12-01T10:00",
				accepted: 100,
				rejected: 0,
			},
			{
				sourceId: "backend",
				minute: "2026-12-01T10:01",
				accepted: 25,
				rejected: 0,
			},
			{
				sourceId: "web",
				minute: "2026-12-01T10:01",
				accepted: 25,
				rejected: 0,
			},
		]);
		await tapRejections(
			d1.db,
			"web",
			[{ index: 0, error: "event: is required" }],
			[{}],
			"2026-12-01T10:00:59.000Z",
		);
		const [, web] = await countsSince(env.DB, "2026-12-01T10:00");
		expect(web).toEqual({
			sourceId: "web",
			minute: "2026-12-01T10:00",
			accepted: 100,
			rejected: 1,
		});
	});

	it("publishes to the live view only while someone watches", async () => {
		const { socket, messages } = await watcher();
		const now = "2026-12-01T10:00:30.000Z";
		// The socket marked the view watched; nobody watching any more:
		await setWatchedUntil(env.DB, 0);
		await tapBatch(env.DB, [event(1, now)]);
		await settle();
		expect(messages).toEqual([]);

		await setWatchedUntil(env.DB, Date.now() + 60_000);
		await tapBatch(env.DB, [event(2, now)]);
		await tapRejections(
			env.DB,
			"web",
			[{ index: 0, messageId: "bad-1", error: "event: is required for track" }],
			[{ type: "track", messageId: "bad-1" }],
			now,
		);
		await settle();
		expect(
			messages
				.flatMap((m) => m.items)
				.map((i) => [i.kind, i.messageId, i.error]),
		).toEqual([
			["accepted", "m-2", undefined],
			["rejected", "bad-1", "event: is required for track"],
		]);
		socket.close(1000, "done");
	});

	it("never throws, even when D1 refuses", async () => {
		await expect(
			tapBatch(env.UNMIGRATED_DB, [event(1, "2026-12-01T10:00:00.000Z")]),
		).resolves.toBeUndefined();
	});
});
