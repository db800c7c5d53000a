import { recordArchived } from "../../archive/archive-index";
import { gzipText } from "../../archive/objects";
import { PROFILES_METADATA, profileFilter } from "../../archive/profile-filter";
import { batchKey } from "../kit/idempotency";
import { MAX_BATCH_EVENTS } from "../kit/limits";
import type { DeliveryItem, DestinationType, Verdict } from "../types";
import type { R2Settings } from "./settings";

/**
 * `r2`: writes the events it is given (one queue batch's worth) as gzip NDJSON, one object per
 * hour of `receivedAt` they span — usually one —, at
 * `{prefix}dt=YYYY-MM-DD/hour=HH/{key}.ndjson.gz`. The key is derived from the events'
 * messageIds, so writing the same batch again replaces the object instead of duplicating it.
 * Before writing, it records in the archive index which profiles each object holds (erasure
 * rewrites the objects from it): if that fails, nothing is written and the batch is retried.
 *
 * @example
 * registry.r2.send(items, ctx) // → events/dt=2026-11-01/hour=08/b1946ac92492d2347c6235b4d2611184.ndjson.gz
 */
export const r2: DestinationType<R2Settings> = {
	type: "r2",
	displayName: "Archive",
	maxBatchEvents: MAX_BATCH_EVENTS.r2,
	ordering: "none",
	async send(items, ctx) {
		const partitions = new Map<string, DeliveryItem[]>();
		for (const item of items) {
			const key = partitionOf(item.event.receivedAt);
			partitions.set(key, [...(partitions.get(key) ?? []), item]);
		}
		const objects = await Promise.all(
			[...partitions].map(async ([partition, part]) => {
				const name = await batchKey(
					"",
					part.map((item) => [item.sourceId, item.event.messageId] as const),
				);
				return {
					key: `${ctx.settings.prefix}${partition}/${name}.ndjson.gz`,
					part,
				};
			}),
		);
		try {
			await recordArchived(
				ctx.env.DB,
				"ARCHIVE",
				objects.map(({ key, part }) => ({
					key,
					profileIds: profilesOf(part),
				})),
				new Date(ctx.now()),
			);
		} catch (error) {
			const verdict: Verdict = {
				outcome: "retry-later",
				error: `archive index write failed: ${String(error)}`,
			};
			return items.map(() => verdict);
		}
		const results = new Map<DeliveryItem, Verdict>();
		for (const { key, part } of objects) {
			const ndjson = `${part.map((item) => JSON.stringify({ sourceId: item.sourceId, ...item.event })).join("\n")}\n`;
			let verdict: Verdict;
			try {
				await ctx.env.ARCHIVE.put(key, await gzipText(ndjson), {
					httpMetadata: {
						contentType: "application/x-ndjson",
						contentEncoding: "gzip",
					},
					customMetadata: {
						events: String(part.length),
						[PROFILES_METADATA]: profileFilter(profilesOf(part)),
					},
				});
				verdict = { outcome: "ok" };
			} catch (error) {
				verdict = {
					outcome: "retry-later",
					error: `R2 put failed: ${String(error)}`,
				};
			}
			for (const item of part) results.set(item, verdict);
		}
		return items.map((item) => results.get(item) as Verdict);
	},
};

/**
 * The Hive-style partition of a timestamp, by UTC date and hour.
 *
 * @example
 * partitionOf("2026-11-01T08:15:00.000Z") // "dt=2026-11-01/hour=08"
 */
export function partitionOf(iso: string): string {
	const at = new Date(iso).toISOString();
	return `dt=${at.slice(0, 10)}/hour=${at.slice(11, 13)}`;
}

/** The resolved profiles of some events (what the erasure index and filter hold). */
function profilesOf(part: readonly DeliveryItem[]): string[] {
	return part.flatMap(({ event }) =>
		typeof event.context.profileId === "string"
			? [event.context.profileId]
			: [],
	);
}
