import { env as workerEnv } from "cloudflare:workers";
import type { EnrichedEvent } from "../event";
import { countAndCheckWatch, minuteOf } from "./counters";
import type { LiveItem } from "./live-item";
import { LIVE_TAIL_NAME } from "./live-tail";

/*
 * What the pipeline tells the console. Best effort, always: counting and publishing never
 * fail, delay or retry a batch or a request; an error is logged and dropped. The cost on the
 * hot path is one D1 round trip per consumer batch (the counter upsert, which also reads the
 * watch flag) and, only while someone watches the live view, one call to the live-tail
 * Durable Object. Ingest calls it only for requests with rejected events.
 */

/** At most this many items go to the live view per call; the counters count them all. */
const MAX_ITEMS = 500;

/**
 * After the EVENTS consumer's fan-out: counts the batch's events per source and minute (one
 * upsert) and, while someone watches, sends them to the live view.
 *
 * @example
 * await tapBatch(env.DB, events.map((e) => ({ sourceId: e.sourceId, event: e.event })));
 */
export async function tapBatch(
	db: D1Database,
	events: readonly { sourceId: string; event: EnrichedEvent }[],
): Promise<void> {
	await bestEffort("batch", async () => {
		if (events.length === 0) return;
		const watched = await countAndCheckWatch(
			db,
			events.map(({ sourceId, event }) => ({
				sourceId,
				minute: minuteOf(event.receivedAt),
				accepted: 1,
				rejected: 0,
			})),
			Date.now(),
		);
		if (watched) await publish(events.map(acceptedItem));
	});
}

/**
 * After ingest rejected events of a request: counts them and, while someone watches, sends
 * them to the live view with the error the client got.
 *
 * @example
 * waitUntil(tapRejections(env.DB, "web", rejected, inputs, facts.receivedAt));
 */
export async function tapRejections(
	db: D1Database,
	sourceId: string,
	rejections: readonly { index: number; messageId?: string; error: string }[],
	inputs: readonly unknown[],
	receivedAt: string,
): Promise<void> {
	await bestEffort("rejections", async () => {
		if (rejections.length === 0) return;
		const watched = await countAndCheckWatch(
			db,
			[
				{
					sourceId,
					minute: minuteOf(receivedAt),
					accepted: 0,
					rejected: rejections.length,
				},
			],
			Date.now(),
		);
		if (!watched) return;
		await publish(
			rejections.map((r) => {
				const input = inputs[r.index];
				const object =
					input && typeof input === "object" && !Array.isArray(input)
						? (input as Record<string, unknown>)
						: {};
				return {
					kind: "rejected" as const,
					sourceId,
					receivedAt,
					type: text(object.type),
					event: text(object.event) ?? text(object.name),
					messageId: r.messageId ?? text(object.messageId),
					userId: text(object.userId),
					anonymousId: text(object.anonymousId),
					error: r.error,
					payload: input,
				};
			}),
		);
	});
}

function acceptedItem({
	sourceId,
	event,
}: {
	sourceId: string;
	event: EnrichedEvent;
}): LiveItem {
	const context = event.context as Record<string, unknown>;
	return {
		kind: "accepted",
		sourceId,
		receivedAt: event.receivedAt,
		type: event.type,
		event: text(event.event) ?? text(event.name),
		messageId: event.messageId,
		userId: text(event.userId),
		anonymousId: text(event.anonymousId),
		profileId: text(context.profileId),
		consent: context.consent,
		payload: event,
	};
}

function text(value: unknown): string | undefined {
	return typeof value === "string" ? value : undefined;
}

async function publish(items: LiveItem[]): Promise<void> {
	const namespace = (workerEnv as Partial<Env>).CONSOLE_LIVE;
	if (!namespace) return;
	const hub = namespace.get(namespace.idFromName(LIVE_TAIL_NAME));
	await hub.publish(JSON.stringify({ items: items.slice(-MAX_ITEMS) }));
}

async function bestEffort(what: string, work: () => Promise<void>) {
	try {
		await work();
	} catch (error) {
		console.warn(
			JSON.stringify({ msg: "console tap failed", what, error: String(error) }),
		);
	}
}
