import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A local HTTP endpoint that answers 200 and counts the events it receives. */
export interface Receiver {
	url: string;
	/** Distinct messageIds received. */
	readonly received: Set<string>;
	/** Requests; requests that repeated a `webhook-id` already answered (a retry, which a
	 * receiver drops as Standard Webhooks says); events that arrived again under a new id. */
	readonly requests: number;
	readonly retried: number;
	readonly duplicates: number;
	close(): Promise<void>;
}

/**
 * Starts a webhook receiver on 127.0.0.1 that answers 200 to every POST and records the
 * messageIds of the events in the body (the webhook destination's `{ data: { events } }`).
 * Like a receiver following Standard Webhooks, it takes a `webhook-id` it has already answered
 * as a retry of that request and ignores its body; an event that arrives again under another
 * id is a duplicate. It keeps ids only, not bodies, so hundreds of thousands of events fit.
 *
 * @example
 * const hook = await startReceiver(); // hook.url → "http://127.0.0.1:41234"
 */
export async function startReceiver(): Promise<Receiver> {
	const received = new Set<string>();
	const ids = new Set<string>();
	let requests = 0;
	let retried = 0;
	let duplicates = 0;
	const server: Server = createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on("data", (chunk: Buffer) => chunks.push(chunk));
		request.on("end", () => {
			requests++;
			const id = request.headers["webhook-id"];
			if (typeof id === "string" && ids.has(id)) {
				retried++;
				response.writeHead(200).end();
				return;
			}
			if (typeof id === "string") ids.add(id);
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
		get retried() {
			return retried;
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
