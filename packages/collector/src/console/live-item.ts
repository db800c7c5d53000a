/**
 * One line of the live view, as the pipeline publishes it (tap.ts) and the page's script shows
 * it (client/live.ts). No imports: the browser script's typecheck reads this file too.
 *
 * @example
 * const item: LiveItem = { kind: "rejected", sourceId: "web", receivedAt, error: "…", payload };
 */
export interface LiveItem {
	kind: "accepted" | "rejected";
	sourceId: string;
	receivedAt: string;
	type?: string;
	event?: string;
	messageId?: string;
	userId?: string;
	anonymousId?: string;
	profileId?: string;
	consent?: unknown;
	/** The validation error the client got (rejected events). */
	error?: string;
	/** The enriched event (accepted) or what the client sent (rejected). */
	payload: unknown;
}
