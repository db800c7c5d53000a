import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";

/** What to read of a local bucket, and where to put it. */
export interface LocalSource {
	/** wrangler.toml of the Worker whose local state is read. */
	configPath: string;
	/** wrangler's --persist-to: the folder holding `v3/` (default `.wrangler/state`). */
	persistTo: string;
	/** The R2 binding the events of record are written through. */
	binding: string;
	/** Key prefix of the objects. */
	prefix: string;
}

/** The part of the R2 binding this reads (Node's type check has no Workers types). */
interface ListableBucket {
	list(options: { prefix: string; cursor?: string }): Promise<{
		objects: { key: string }[];
		truncated: boolean;
		cursor?: string;
	}>;
	get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

/**
 * Copies the event objects of the local R2 state of `npm run dev` (or any wrangler
 * --persist-to folder) into `into`, keeping their keys as paths, through wrangler's platform
 * proxy: the same local bucket the Worker uses, read with the R2 API, offline. Answers how
 * many objects it copied.
 *
 * @example
 * await copyLocalObjects({ configPath: "wrangler.toml", persistTo: ".wrangler/state", binding: "ARCHIVE", prefix: "events/" }, "/tmp/q") // 12
 */
export async function copyLocalObjects(
	source: LocalSource,
	into: string,
): Promise<number> {
	// Imported here: loading wrangler takes seconds, and only --local needs it.
	const { getPlatformProxy } = await import("wrangler");
	const proxy = await getPlatformProxy<Record<string, unknown>>({
		configPath: source.configPath,
		persist: { path: join(source.persistTo, "v3") },
		remoteBindings: false,
	});
	try {
		const bucket = proxy.env[source.binding] as ListableBucket | undefined;
		if (!bucket || typeof bucket.list !== "function")
			throw new Error(
				`${source.configPath} has no R2 binding named ${source.binding}`,
			);
		let copied = 0;
		let cursor: string | undefined;
		do {
			const page = await bucket.list({ prefix: source.prefix, cursor });
			for (const { key } of page.objects) {
				if (!key.endsWith(".parquet")) continue;
				const object = await bucket.get(key);
				// Deleted between the list and the get: it is no longer an event of record.
				if (!object) continue;
				const path = resolve(into, key);
				if (!path.startsWith(resolve(into) + sep))
					throw new Error(`object key leaves the folder: ${key}`);
				await mkdir(dirname(path), { recursive: true });
				await writeFile(path, new Uint8Array(await object.arrayBuffer()));
				copied++;
			}
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor);
		return copied;
	} finally {
		await proxy.dispose();
	}
}
