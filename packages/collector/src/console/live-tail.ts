import { DurableObject } from "cloudflare:workers";
import { setWatchedUntil } from "./counters";

/*
 * The live view's hub: one Durable Object holding the console's WebSockets with the
 * hibernation API (it is evicted from memory between messages and costs nothing while idle).
 * Best effort: a message that cannot be sent to one socket is dropped for that socket only.
 * While it holds a socket it keeps `console_watch.until_ms` a minute ahead (renewed by an alarm
 * every 30 s); the EVENTS consumer and ingest publish only while that lies in the future.
 */

/** How far ahead a watcher marks the view watched; the alarm renews it at half that. */
const WATCH_MS = 60_000;

/**
 * The live-tail Durable Object (binding CONSOLE_LIVE, one instance named "live").
 *
 * @example
 * const hub = env.CONSOLE_LIVE.get(env.CONSOLE_LIVE.idFromName(LIVE_TAIL_NAME));
 * await hub.publish(JSON.stringify({ items }));
 */
export class LiveTail extends DurableObject<Env> {
	/** Accepts a WebSocket upgrade (the console route checked the session and Origin). */
	override async fetch(request: Request): Promise<Response> {
		if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
			return new Response("Expected a WebSocket upgrade", { status: 426 });
		const [client, server] = Object.values(new WebSocketPair()) as [
			WebSocket,
			WebSocket,
		];
		this.ctx.acceptWebSocket(server);
		await this.renew();
		return new Response(null, { status: 101, webSocket: client });
	}

	/** Sends one message (a JSON text of `{ items }`) to every socket. */
	publish(message: string): number {
		const sockets = this.ctx.getWebSockets();
		for (const socket of sockets) {
			try {
				socket.send(message);
			} catch (error) {
				// A socket closing meanwhile: the others still get the message.
				console.warn(
					JSON.stringify({
						msg: "live tail send failed",
						error: String(error),
					}),
				);
			}
		}
		return sockets.length;
	}

	override async alarm(): Promise<void> {
		if (this.ctx.getWebSockets().length > 0) await this.renew();
		else await setWatchedUntil(this.env.DB, 0);
	}

	override async webSocketMessage(
		socket: WebSocket,
		message: string | ArrayBuffer,
	): Promise<void> {
		// The page pings to keep proxies from closing an idle socket; nothing else is read.
		if (message === "ping") socket.send('{"pong":true}');
	}

	override async webSocketClose(
		socket: WebSocket,
		code: number,
	): Promise<void> {
		try {
			// Completes the closing handshake; 1005 and 1006 may not be sent back.
			socket.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
		} catch (error) {
			// Already closed by the runtime's automatic reply: nothing left to do.
			console.warn(
				JSON.stringify({ msg: "live tail close", error: String(error) }),
			);
		}
		const open = this.ctx
			.getWebSockets()
			.filter((s) => s !== socket && s.readyState === WebSocket.OPEN);
		if (open.length === 0) await setWatchedUntil(this.env.DB, 0);
	}

	private async renew(): Promise<void> {
		const now = Date.now();
		await setWatchedUntil(this.env.DB, now + WATCH_MS);
		await this.ctx.storage.setAlarm(now + WATCH_MS / 2);
	}
}

/** The one live-tail instance's name. */
export const LIVE_TAIL_NAME = "live";
