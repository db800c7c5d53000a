import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { resolveSecret } from "../src/config/secret";
import type { DeliveryMessage } from "../src/delivery/messages";
import type { DeliveryItem, SendContext } from "../src/destinations/types";
import type { EnrichedEvent } from "../src/event";
import { consumeDeliveries } from "../src/queues/deliveries";
import { useConfig } from "./helpers";
import type {
	RecordedRequest,
	ScriptedResponse,
	VendorName,
} from "./vendors/secrets";

/** The write key of the `web` source in {@link testConfig}. */
export const WRITE_KEY = "wk_test_web_0123456789";

/**
 * A tenant id for the local vendor servers: requests under it are recorded apart from every
 * other test's.
 */
export function tenant(): string {
	return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

/** A vendor's base URL for one tenant (what a destination's `endpoint`/`url` setting points at). */
export function vendorUrl(vendor: VendorName, key: string): string {
	return `${inject("vendors")[vendor]}/t/${key}`;
}

/** The requests a vendor server received for a tenant, oldest first. */
export async function received(
	vendor: VendorName,
	key: string,
): Promise<RecordedRequest[]> {
	const response = await fetch(`${vendorUrl(vendor, key)}/__requests`);
	return (await response.json()) as RecordedRequest[];
}

/** Queues responses for a tenant's next valid requests (then the vendor's own answers resume). */
export async function script(
	vendor: VendorName,
	key: string,
	responses: ScriptedResponse[],
): Promise<void> {
	await fetch(`${vendorUrl(vendor, key)}/__script`, {
		method: "POST",
		body: JSON.stringify(responses),
	});
}

/**
 * Polls `probe` until it returns something truthy, at most `timeoutMs`; then fails with what it
 * last returned. For effects of the queue consumers, which run on their own schedule.
 */
export async function waitFor<T>(
	probe: () => Promise<T | false | null | undefined>,
	timeoutMs = 4000,
	intervalMs = 50,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last = await probe();
	while (!last) {
		if (Date.now() > deadline)
			throw new Error(
				`waitFor timed out after ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
			);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
		last = await probe();
	}
	return last;
}

/**
 * A config with the `web` source and the given destinations. It opts in to private network
 * hosts: the destinations point at the local vendor servers on 127.0.0.1.
 */
export function testConfig(
	destinations: unknown[],
	source: Record<string, unknown> = {},
) {
	return {
		version: 1,
		allowPrivateNetwork: true,
		sources: [
			{
				id: "web",
				writeKey: WRITE_KEY,
				allowedOrigins: ["https://shop.example.com"],
				rateLimit: false,
				...source,
			},
		],
		destinations,
	};
}

/** POSTs events to /v1/batch of the Worker under test, as a server library would. */
export async function postBatch(
	events: unknown[],
	headers: Record<string, string> = {},
): Promise<Response> {
	return exports.default.fetch("http://collector.test/v1/batch", {
		method: "POST",
		headers: {
			"content-type": "application/json",
			authorization: `Basic ${btoa(`${WRITE_KEY}:`)}`,
			...headers,
		},
		body: JSON.stringify({ batch: events }),
	});
}

let counter = 0;
/** A track event with a fresh messageId, timestamped now (so every destination accepts it). */
export function trackEvent(
	overrides: Record<string, unknown> = {},
): Record<string, unknown> {
	counter += 1;
	return {
		type: "track",
		event: "Product Viewed",
		messageId: `msg_${tenant()}_${counter}`,
		anonymousId: "anon_0123456789",
		timestamp: new Date().toISOString(),
		properties: { product_id: "prod_1", price: 10, currency: "EUR" },
		context: {
			consent: {
				categoryPreferences: {
					necessary: true,
					analytics: true,
					marketing: true,
				},
			},
		},
		...overrides,
	};
}

/** A failure row of the delivery log: an event a destination has not taken. */
export interface LogRow {
	destination_id: string;
	source_id: string;
	message_id: string;
	batch_key: string;
	status: string;
	attempts: number;
	last_status: number | null;
	last_error: string | null;
	payload: string | null;
}

/** A batch row of the delivery log: one DELIVERIES message. */
export interface BatchRow {
	id: number;
	batch_key: string;
	destination_id: string;
	kind: string;
	events: number;
	delivered: number;
	status: string;
	attempts: number;
	sweeps: number;
	last_status: number | null;
	last_error: string | null;
	body: string | null;
	next_attempt_at: string;
}

/** The failure rows of a destination, oldest first. */
export async function failuresOf(destinationId: string): Promise<LogRow[]> {
	const { results } = await env.DB.prepare(
		"SELECT * FROM delivery_failures WHERE destination_id = ?1 ORDER BY id",
	)
		.bind(destinationId)
		.run<LogRow>();
	return results;
}

/** The batch rows of a destination, oldest first. */
export async function batchesOf(destinationId: string): Promise<BatchRow[]> {
	const { results } = await env.DB.prepare(
		`SELECT b.*, d.body FROM delivery_batches AS b LEFT JOIN delivery_bodies AS d ON d.batch_id = b.id
WHERE b.destination_id = ?1 ORDER BY b.id`,
	)
		.bind(destinationId)
		.run<BatchRow>();
	return results;
}

/** A destination's forwarding of a profile deletion, as the `deletion_forwarding` view has it. */
export interface ForwardingRow {
	destination_id: string;
	deletion_id: number;
	status: string;
	attempts: number;
	last_status: number | null;
	last_error: string | null;
}

/** How a destination's forwarding of each profile deletion stands, oldest deletion first. */
export async function forwardingOf(
	destinationId: string,
): Promise<ForwardingRow[]> {
	const { results } = await env.DB.prepare(
		"SELECT * FROM deletion_forwarding WHERE destination_id = ?1 ORDER BY deletion_id",
	)
		.bind(destinationId)
		.run<ForwardingRow>();
	return results;
}

/** Events the log has as delivered to a destination (the sum over its batches). */
export async function deliveredCount(destinationId: string): Promise<number> {
	const row = await env.DB.prepare(
		"SELECT coalesce(SUM(delivered), 0) AS n FROM delivery_batches WHERE destination_id = ?1",
	)
		.bind(destinationId)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

/**
 * Whether every batch of a destination is done and none of its events failed: what "all
 * delivered" looks like in the log. False while it has no batch at all.
 */
export async function allDelivered(destinationId: string): Promise<boolean> {
	const batches = await batchesOf(destinationId);
	return (
		batches.length > 0 &&
		batches.every((b) => b.status === "done") &&
		(await failuresOf(destinationId)).length === 0
	);
}

/** A SendContext for calling a destination module directly, with the test Worker's env. */
export function sendContext<S>(
	settings: S,
	destinationId = "dest",
): SendContext<S> {
	return {
		destinationId,
		settings,
		env,
		secret: (ref) => resolveSecret(env, ref),
		fetch: (url, init) =>
			fetch(url, { ...init, signal: AbortSignal.timeout(5000) }),
		now: Date.now,
	};
}

/** An enriched event as the consumer hands it to a destination (a track by default). */
export function item(
	overrides: Partial<EnrichedEvent> = {},
	sourceId = "web",
): DeliveryItem {
	const now = new Date().toISOString();
	return {
		sourceId,
		event: {
			type: "track",
			event: "Product Viewed",
			messageId: `msg_${tenant()}`,
			anonymousId: "anon_0123456789",
			timestamp: now,
			receivedAt: now,
			properties: { product_id: "prod_1", price: 10, currency: "EUR" },
			context: {
				page: { url: "https://shop.example.com/p/1", title: "Product 1" },
			},
			...overrides,
		} as EnrichedEvent,
	};
}

/** The first request a vendor server received for a tenant; fails the test when there is none. */
export async function firstRequest(
	vendor: VendorName,
	key: string,
): Promise<RecordedRequest> {
	const [request] = await received(vendor, key);
	if (!request)
		throw new Error(`${vendor} received no request for tenant ${key}`);
	return request;
}

/** The events carried by webhook requests (`{ type: "events.batch", data: { events } }`), in order. */
export function webhookEvents(
	requests: { body: unknown }[],
): Record<string, unknown>[] {
	return requests.flatMap(
		(r) =>
			(r.body as { data?: { events?: Record<string, unknown>[] } }).data
				?.events ?? [],
	);
}

/**
 * Calls the real Worker's admin API with the test ADMIN_TOKEN (or `token`; null sends none) and
 * a JSON content type.
 *
 * @example
 * await adminFetch("/admin/replay", { method: "POST", body: JSON.stringify({ destination: id }) })
 */
export function adminFetch(
	path: string,
	init: RequestInit = {},
	token: string | null = env.ADMIN_TOKEN,
): Promise<Response> {
	return exports.default.fetch(`http://collector.test${path}`, {
		...init,
		headers: {
			"content-type": "application/json",
			...(token && { authorization: `Bearer ${token}` }),
		},
	});
}

/**
 * A fresh tenant whose one destination is the webhook stand-in, with `fields` (retry, consent,
 * filters…) added to it.
 *
 * @example
 * const { key, id } = await useWebhook({ retry: { maxAttempts: 3 } });
 */
export async function useWebhook(
	fields: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
	const key = tenant();
	const id = `hook-${key}`;
	await useConfig(
		testConfig([
			{
				id,
				type: "webhook",
				...fields,
				settings: { url: `${vendorUrl("webhook", key)}/in` },
			},
		]),
	);
	return { key, id };
}

/**
 * A fresh tenant whose one destination is the Segment stand-in, with `fields` added to it.
 *
 * @example
 * const { key, id } = await useSegment({ retry: { maxAttempts: 1 } });
 */
export async function useSegment(
	fields: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
	const key = tenant();
	const id = `seg-${key}`;
	await useConfig(
		testConfig([
			{
				id,
				type: "segment",
				...fields,
				settings: {
					writeKey: { secret: "SEGMENT_WRITE_KEY" },
					endpoint: vendorUrl("segment", key),
				},
			},
		]),
	);
	return { key, id };
}

/**
 * {@link useWebhook} giving up after one attempt: a delivery the stand-in refuses fails at once
 * and goes to the dead-letter queue.
 *
 * @example
 * const { key, id } = await useOneAttemptWebhook();
 * await script("webhook", key, [{ status: 400 }]);
 */
export function useOneAttemptWebhook(): Promise<{ key: string; id: string }> {
	return useWebhook({ retry: { maxAttempts: 1 } });
}

/** What the DELIVERIES consumer acked and retried (with the delays it asked for). */
export interface ConsumeResult {
	acks: string[];
	retries: { msgId: string; delaySeconds?: number }[];
}

/** Runs the DELIVERIES consumer on messages, as the queue would deliver them (attempt `attempts`). */
export async function consumeDeliveryMessages(
	messages: DeliveryMessage[],
	attempts = 1,
	withEnv: Env = env,
): Promise<ConsumeResult> {
	const result: ConsumeResult = { acks: [], retries: [] };
	const batch = {
		queue: "conduit-deliveries",
		messages: messages.map((body, i) => ({
			id: `msg-${i}`,
			timestamp: new Date(),
			attempts,
			body,
			ack: () => result.acks.push(`msg-${i}`),
			retry: (options?: QueueRetryOptions) =>
				result.retries.push({ msgId: `msg-${i}`, ...options }),
		})),
		ackAll: () => {
			throw new Error("the consumer settles each message on its own");
		},
		retryAll: () => {
			throw new Error("the consumer settles each message on its own");
		},
	} as unknown as MessageBatch<DeliveryMessage>;
	await consumeDeliveries(batch, withEnv);
	return result;
}
