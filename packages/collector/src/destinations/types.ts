import type { SecretRef } from "../config/secret";
import type { EnrichedEvent } from "../event";

/** One event on its way to one destination, after that destination's mapping. */
export interface DeliveryItem {
	sourceId: string;
	event: EnrichedEvent;
}

/** A right-to-erasure request (a row of `profile_deletions`), as destinations receive it. */
export interface ProfileDeletion {
	id: number;
	profileId: string;
	/** What the profile was known by: `{ type: "user_id" | "anonymous_id" | "email" | …, value }`. */
	identities: { type: string; value: string }[];
	requestedAt: string;
}

/**
 * The outcome of one send for one event (see kit/outcome.ts), with what the log and the
 * dead-letter queue record. `dropped` is decided before sending: the destination cannot take
 * the event at all (a GA4 name limit, an identify where the API has no such call); it is never
 * retried and `error` says why.
 */
export type Verdict =
	| { outcome: "ok"; status?: number }
	| {
			outcome: "retry-later";
			status?: number;
			error: string;
			retryAfterSeconds?: number;
	  }
	| { outcome: "too-large"; status?: number; error: string }
	| {
			outcome: "fatal";
			status?: number;
			error: string;
			responseBody?: string;
			/** The receiver asked never to be called again (webhook 410 Gone). */
			disable?: boolean;
	  }
	| { outcome: "dropped"; error: string };

/** What a destination module may use while sending: its settings and the platform. */
export interface SendContext<S> {
	destinationId: string;
	settings: S;
	env: Env;
	/** Reads a referenced secret; throws MissingSecretError when it is not set. */
	secret(ref: SecretRef): string;
	/** fetch with the destination's timeout applied. */
	fetch(url: string, init: RequestInit): Promise<Response>;
	now(): number;
}

/**
 * One destination type: a small module that turns events into the vendor's requests and the
 * vendor's answers into one verdict per event.
 *
 * @example
 * const verdicts = await webhook.send(items, ctx); // verdicts[i] is items[i]'s outcome
 */
export interface DestinationType<S> {
	type: string;
	/** The name Segment's `integrations` object uses for this kind of tool. */
	displayName: string;
	/** The vendor's most events per request; a destination's `batchSize` may not exceed it. */
	maxBatchEvents: number;
	/** The default `ordering`: "profile" where the order of a person's events changes the result. */
	ordering: "profile" | "none";
	/** Sends events; resolves to one verdict per item, in order. Never rejects for a vendor's answer. */
	send(items: DeliveryItem[], ctx: SendContext<S>): Promise<Verdict[]>;
	/** Forwards a profile deletion, when the vendor has an API for it and the settings allow. */
	deleteProfile?(
		deletion: ProfileDeletion,
		ctx: SendContext<S>,
	): Promise<Verdict>;
	/** Whether these settings can forward deletions (absent: never). */
	supportsDeletion?(settings: S): boolean;
}
