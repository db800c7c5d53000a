import type { ConduitEvent } from "../src/types";

/*
 * What the collector makes of a batch body, for tests that read the events the SDK sent. It
 * mirrors `eventsOfBatch` in packages/collector/src/ingest/accept.ts (which runs only inside
 * workerd): the batch's `context` fills in what each event's context lacks, into nested objects,
 * the event's own values winning; the batch's `sentAt` applies to an event without one. The
 * collector's guards against hostile input (depth, prototype keys, non-object contexts) are left
 * out: the SDK sends neither.
 */

/** A batch body as the SDK sends it. */
export interface Body {
	batch: ConduitEvent[];
	context?: Record<string, unknown>;
	writeKey: string;
	sentAt: string;
}

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj =>
	typeof value === "object" && value !== null && !Array.isArray(value);

/** `own` with what it lacks taken from `shared`, recursively (the collector's mergeMissing). */
function mergeMissing(own: Obj, shared: Obj): Obj {
	const merged: Obj = { ...own };
	for (const [key, value] of Object.entries(shared)) {
		const mine = merged[key];
		if (mine === undefined) merged[key] = value;
		else if (isObject(mine) && isObject(value))
			merged[key] = mergeMissing(mine, value);
	}
	return merged;
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
				? mergeMissing(event.context ?? {}, context)
				: event.context) as ConduitEvent["context"],
			sentAt: event.sentAt ?? sentAt,
		})),
	};
}
