import { mergeMissing, type WireObject } from "@conduit/protocol";
import type { ConduitEvent } from "../src/types";

/*
 * What the collector makes of a batch body, for tests that read the events the SDK sent, as
 * `eventsOfBatch` in packages/collector/src/ingest/accept.ts does (it runs only inside workerd):
 * the batch's `context` fills in what each event's context lacks with @conduit/protocol's
 * `mergeMissing`, the event's own values winning; the batch's `sentAt` applies to an event
 * without one.
 */

/** A batch body as the SDK sends it. */
export interface Body {
	batch: ConduitEvent[];
	context?: Record<string, unknown>;
	writeKey: string;
	sentAt: string;
}

/**
 * The body with the batch's `context` and `sentAt` applied to each event, as the collector
 * stores them.
 *
 * @example
 * applyBatch({ batch: [{ type: "track", … }], context: { locale: "de" }, writeKey, sentAt })
 * // { batch: [{ type: "track", …, context: { locale: "de" }, sentAt }], … }
 */
export function applyBatch(body: Body): Body {
	const { context, sentAt } = body;
	return {
		...body,
		batch: body.batch.map((event) => ({
			...event,
			context: (context
				? mergeMissing(
						(event.context ?? {}) as WireObject,
						context as WireObject,
					)
				: event.context) as ConduitEvent["context"],
			sentAt: event.sentAt ?? sentAt,
		})),
	};
}
