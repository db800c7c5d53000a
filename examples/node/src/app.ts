import { randomUUID } from "node:crypto";
import {
	createServer,
	type IncomingMessage,
	type Server,
	type ServerResponse,
} from "node:http";
import type { Analytics } from "@segment/analytics-node";
import * as v from "valibot";
import { OrderRequestSchema, orderCompleted, priceOrder } from "./orders.ts";

/** Largest order body read; an order of 50 items is far smaller. */
const MAX_BODY_BYTES = 16 * 1024;

class HttpError extends Error {
	readonly status: number;
	readonly code: string;
	constructor(status: number, code: string, message: string) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

/**
 * The orders API: `POST /orders` validates the order, prices it from the catalogue, and once it
 * is placed tells the collector who ordered (identify) and what (`Order Completed`). The calls
 * only queue the events: `analytics` sends them in batches, and the caller flushes it on
 * shutdown (`closeAndFlush`), so a request never waits for the collector.
 *
 * @example
 * const analytics = new Analytics({ writeKey: "wk_…", host: "https://collect.example.com" });
 * createOrdersServer(analytics).listen(3000);
 */
export function createOrdersServer(analytics: Analytics): Server {
	return createServer(async (request, response) => {
		try {
			const { pathname } = new URL(request.url ?? "/", "http://localhost");
			if (pathname !== "/orders")
				throw new HttpError(404, "not_found", `No route ${pathname}`);
			if (request.method !== "POST") {
				response.setHeader("Allow", "POST");
				throw new HttpError(405, "method_not_allowed", "Use POST /orders");
			}
			const parsed = v.safeParse(OrderRequestSchema, await readJson(request));
			if (!parsed.success)
				throw new HttpError(400, "invalid_order", describe(parsed.issues));
			const order = priceOrder(`ord_${randomUUID()}`, parsed.output);
			// (A real service stores and charges the order here; events follow what happened.)
			const { userId, email, anonymousId } = parsed.output;
			const who = { userId, ...(anonymousId ? { anonymousId } : {}) };
			analytics.identify({ ...who, traits: { email } });
			analytics.track({
				...who,
				event: "Order Completed",
				properties: orderCompleted(order),
				// One order, one event: if this call is ever made again for the same order (a job
				// retried), the collector keeps the first and drops the copy.
				messageId: `${order.id}:completed`,
			});
			send(response, 201, {
				orderId: order.id,
				total: order.totalCents / 100,
				currency: "EUR",
			});
		} catch (error) {
			if (error instanceof HttpError)
				return send(response, error.status, {
					error: error.code,
					message: error.message,
				});
			console.error(error);
			send(response, 500, { error: "internal", message: "Order failed" });
		}
	});
}

async function readJson(request: IncomingMessage): Promise<unknown> {
	if (!request.headers["content-type"]?.startsWith("application/json"))
		throw new HttpError(
			415,
			"unsupported_media_type",
			"Send the order as application/json",
		);
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of request as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > MAX_BODY_BYTES)
			throw new HttpError(
				413,
				"payload_too_large",
				`An order body is at most ${MAX_BODY_BYTES} bytes`,
			);
		chunks.push(chunk);
	}
	try {
		return JSON.parse(Buffer.concat(chunks).toString("utf8"));
	} catch {
		throw new HttpError(400, "invalid_json", "The body is not valid JSON");
	}
}

function describe(issues: readonly v.BaseIssue<unknown>[]): string {
	return issues
		.map((issue) => {
			const path = v.getDotPath(issue);
			return path ? `${path}: ${issue.message}` : issue.message;
		})
		.join("; ");
}

function send(response: ServerResponse, status: number, body: unknown): void {
	response
		.writeHead(status, { "content-type": "application/json" })
		.end(JSON.stringify(body));
}
