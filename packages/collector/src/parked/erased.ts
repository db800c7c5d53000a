import type { WireEvent } from "@conduit/protocol";
import type { LoadedConfig } from "../config/schema";
import { identifiersOf } from "../identity/identifiers";
import { readGraph } from "../identity/read";
import { identitySettings } from "../identity/settings";
import { suppressionKey, suppressionVerdict } from "../identity/suppression";

const DAY_MS = 86_400_000;

/** An event with the source it came from. */
export interface SourcedEvent {
	sourceId: string;
	event: WireEvent;
}

/**
 * Which events belong to a person erased since they were received, so a dead letter never
 * brings erased data back into D1. An identifier counts as erased when its suppression
 * (identity_suppressions, written by DELETE /v1/profiles/:id) is newer than the event, or is
 * still within the source's `suppressionDays`; the event is then judged by identity's own rule
 * (identity/suppression.ts): erased when its user_id is, or when it has no user_id and any identifier
 * is — an event of another user of a shared browser is kept. One D1 read for the whole list.
 *
 * @example
 * await erasedEvents(env.DB, config, [{ sourceId: "web", event }], new Date()) // [false]
 */
export async function erasedEvents(
	db: D1Database,
	config: LoadedConfig,
	events: readonly SourcedEvent[],
	now: Date,
): Promise<boolean[]> {
	if (events.length === 0) return [];
	const judged = await Promise.all(
		events.map(async ({ sourceId, event }) => {
			const settings = identitySettings(
				config.sourcesById.get(sourceId)?.identity,
			);
			const { identifiers } = identifiersOf(event, settings);
			const keys = await Promise.all(identifiers.map(suppressionKey));
			const receivedAt = Date.parse(event.receivedAt ?? "");
			return { identifiers, keys, settings, receivedAt };
		}),
	);
	const { suppressions } = await readGraph(db, {
		identifiers: [],
		hintedProfiles: [],
		limitedTypes: [],
		suppressionKeys: [...new Set(judged.flatMap((j) => j.keys))],
	});
	return judged.map(({ identifiers, keys, settings, receivedAt }) => {
		const windowStart = now.getTime() - settings.suppressionDays * DAY_MS;
		const relevant = new Map<string, string>();
		for (const key of keys) {
			const deletedAt = suppressions.get(key);
			if (deletedAt === undefined) continue;
			const at = Date.parse(deletedAt);
			// An unknown receivedAt cannot prove the event came after the erasure.
			if (!(at < receivedAt) || at > windowStart) relevant.set(key, deletedAt);
		}
		return suppressionVerdict(
			identifiers,
			keys,
			relevant,
			Number.POSITIVE_INFINITY,
			now,
		).drop;
	});
}
