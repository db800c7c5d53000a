import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A local HTTP endpoint that answers 200 and counts the events it receives. */
export interface Receiver {
	url: string;
	/** Distinct messageIds received. */
	readonly received: Set<string>;
	/** Requests, and events that arrived more than once. */
	readonly requests: number;
	readonly duplicates: number;
	close(): Promise<void>;
}

/**
 * Starts a webhook receiver on 127.0.0.1 that answers 200 to every POST and records the
 * messageIds of the events in the body (the webhook destination's `{ data: { events } }`).
 * It keeps ids only, not bodies, so hundreds of thousands of events fit in memory.
 *
 * @example
 * const hook = await startReceiver(); // hook.url → "http://127.0.0.1:41234"
 */
export async function startReceiver(): Promise<Receiver> {
	const received = new Set<string>();
	let requests = 0;
	let duplicates = 0;
	const server: Server = createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on("data", (chunk: Buffer) => chunks.push(chunk));
		request.on("end", () => {
			requests++;
			try {
				const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
					data?: { events?: { messageId?: string }[] };
				};
				for (const event of body.data?.events ?? []) {
					if (typeof event.messageId !== "string") continue;
					if (received.has(event.messageId)) duplicates++;
					else received.add(event.messageId);
				}
			} catch {
				// Not JSON: still answered 200; nothing counted.
			}
			response.writeHead(200, { "content-type": "application/json" });
			response.end('{"ok":true}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		received,
		get requests() {
			return requests;
		},
		get duplicates() {
			return duplicates;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
