import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { LIVE_TAIL_NAME, type LiveTail } from "./live-tail";

const hub = () =>
	env.CONSOLE_LIVE.get(env.CONSOLE_LIVE.idFromName(LIVE_TAIL_NAME));

async function watchedUntil(): Promise<number> {
	const row = await env.DB.prepare(
		"SELECT until_ms FROM console_watch WHERE id = 1",
	).first<{ until_ms: number }>();
	return row?.until_ms ?? 0;
}

/** Opens a socket on the hub as the console page does, and collects the texts it receives. */
async function open() {
	const response = await hub().fetch("http://console/live/socket", {
		headers: { Upgrade: "websocket" },
	});
	const socket = response.webSocket;
	if (!socket) throw new Error(`no WebSocket: ${response.status}`);
	socket.accept();
	const texts: string[] = [];
	socket.addEventListener("message", (m) => texts.push(String(m.data)));
	return { socket, texts };
}

/** Polls until `check` holds, for at most two seconds. */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
	for (let i = 0; i < 40; i++) {
		if (await check()) return;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error("condition not met within 2 s");
}

beforeEach(async () => {
	await env.DB.exec("DELETE FROM console_watch");
});

describe("the live-tail Durable Object", () => {
	it("holds its sockets with the hibernation API, so the runtime, not the object, keeps them", async () => {
		const before = Date.now();
		const { socket, texts } = await open();

		// getWebSockets() lists only sockets accepted with ctx.acceptWebSocket(): the ones the
		// runtime keeps open while the object is evicted from memory.
		const held = await runInDurableObject(
			hub(),
			async (_: LiveTail, state) => ({
				sockets: state.getWebSockets().length,
				alarm: await state.storage.getAlarm(),
			}),
		);
		expect(held.sockets).toBe(1);
		// The watch is renewed by an alarm, not by a timer that would keep the object awake.
		expect(held.alarm).toBeGreaterThan(before);
		expect(await watchedUntil()).toBeGreaterThan(before);

		// A message reaches the class's webSocketMessage handler, the hibernation API's entry point.
		socket.send("ping");
		await until(() => texts.includes('{"pong":true}'));

		// A publish reaches every held socket.
		const sent = await hub().publish('{"items":[]}');
		expect(sent).toBe(1);
		await until(() => texts.includes('{"items":[]}'));

		// The last socket closing ends the watch: the consumer stops publishing at once.
		socket.close(1000, "done");
		await until(async () => (await watchedUntil()) === 0);
	});

	it("refuses a request that is not a WebSocket upgrade", async () => {
		const response = await hub().fetch("http://console/live/socket");
		expect(response.status).toBe(426);
		expect(await watchedUntil()).toBe(0);
	});
});
