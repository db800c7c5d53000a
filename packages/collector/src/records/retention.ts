import { RECORDS_PREFIX } from "./key";

/** List calls per run (each lists up to 1,000 keys); what is left is deleted by the next run. */
const MAX_LISTS = 20;

/** What one run deleted. */
export interface RetentionRun {
	/** Partitions (source and hour) found entirely before the cutoff. */
	partitions: number;
	objects: number;
}

/**
 * Retention for the events of record: deletes whole partitions — every object under
 * `events/source=…/dt=…/hour=…/` — whose hour ended before `before`, by listing the bucket with
 * a "/" delimiter (sources, then days, then hours), so no object is read and no index is needed.
 * Bounded: at most MAX_LISTS list calls and their deletes per run; the next run goes on.
 *
 * Failure rule: best effort — an error ends the run and the next hourly run starts over (a
 * partition half deleted is simply listed again).
 *
 * @example
 * await deletePartitionsBefore(env.RECORDS, new Date(Date.now() - 30 * 86_400_000)) // { partitions: 24, objects: 310 }
 */
export async function deletePartitionsBefore(
	bucket: R2Bucket,
	before: Date,
	prefix: string = RECORDS_PREFIX,
): Promise<RetentionRun> {
	const run: RetentionRun = { partitions: 0, objects: 0 };
	let lists = 0;
	const list = async (options: R2ListOptions) => {
		lists++;
		return bucket.list(options);
	};
	/** Every delimited prefix under `under` (paged). */
	const folders = async (under: string): Promise<string[]> => {
		const found: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await list({ prefix: under, delimiter: "/", cursor });
			found.push(...page.delimitedPrefixes);
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor && lists < MAX_LISTS);
		return found;
	};
	const cutoffDay = before.toISOString().slice(0, 10);
	const cutoffHour = before.toISOString().slice(11, 13);
	for (const source of await folders(prefix)) {
		for (const day of await folders(source)) {
			const dt = /dt=(\d{4}-\d{2}-\d{2})\/$/.exec(day)?.[1];
			if (!dt || dt > cutoffDay) continue;
			const hours =
				dt < cutoffDay
					? [day]
					: (await folders(day)).filter((hour) => {
							const hh = /hour=(\d{2})\/$/.exec(hour)?.[1];
							return hh !== undefined && hh < cutoffHour;
						});
			for (const folder of hours) {
				if (lists >= MAX_LISTS) return run;
				const page = await list({ prefix: folder });
				const keys = page.objects.map((o) => o.key);
				if (keys.length > 0) await bucket.delete(keys);
				run.objects += keys.length;
				if (!page.truncated) run.partitions++;
			}
			if (lists >= MAX_LISTS) return run;
		}
	}
	return run;
}
