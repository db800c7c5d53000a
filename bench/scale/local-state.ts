import {
	copyFileSync,
	existsSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parse } from "smol-toml";

/** One table of the local D1 file: rows and bytes (its own pages plus its indexes'). */
export interface TableSize {
	rows: number;
	/** Bytes of the table's b-tree pages in use (sqlite `dbstat`, `pgsize`). */
	tableBytes: number;
	/** Bytes of its indexes' pages. */
	indexBytes: number;
	indexes: string[];
}

/** The local D1 database file, table by table. */
export interface D1Size {
	file: string;
	/** page_count × page_size: what the file holds, free pages included. */
	fileBytes: number;
	/** Free pages (left by deletes until a VACUUM), in bytes. */
	freeBytes: number;
	tables: Record<string, TableSize>;
}

/** Tables of wrangler/miniflare and SQLite themselves, not of the collector's schema. */
const SYSTEM = /^(?:sqlite_|_cf_|d1_migrations$)/;

/**
 * Measures the D1 database in a `wrangler dev --persist-to` state folder from its SQLite file:
 * rows and bytes per table (with its indexes, via the `dbstat` virtual table), whatever tables
 * exist. It reads a copy of the file (and its write-ahead log), so `wrangler dev` may be running.
 *
 * @example
 * measureD1("/tmp/state").tables.events // { rows: 200304, tableBytes: …, indexBytes: …, indexes: [...] }
 */
export function measureD1(persistTo: string): D1Size {
	const folder = join(persistTo, "v3/d1/miniflare-D1DatabaseObject");
	const files = existsSync(folder)
		? readdirSync(folder).filter((name) => name.endsWith(".sqlite"))
		: [];
	for (const name of files) {
		const file = join(folder, name);
		const copy = mkdtempSync(join(tmpdir(), "conduit-d1-"));
		copyFileSync(file, join(copy, "db.sqlite"));
		if (existsSync(`${file}-wal`))
			copyFileSync(`${file}-wal`, join(copy, "db.sqlite-wal"));
		const db = new DatabaseSync(join(copy, "db.sqlite"));
		try {
			const objects = db
				.prepare(
					"SELECT type, name, tbl_name AS tableName FROM sqlite_schema WHERE type IN ('table', 'index')",
				)
				.all() as { type: string; name: string; tableName: string }[];
			if (!objects.some((o) => o.name === "d1_migrations")) continue;
			const pages = new Map(
				(
					db
						.prepare(
							"SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name",
						)
						.all() as { name: string; bytes: number }[]
				).map((r) => [r.name, r.bytes]),
			);
			const tables: Record<string, TableSize> = {};
			for (const o of objects)
				if (o.type === "table" && !SYSTEM.test(o.name)) {
					const { n } = db
						.prepare(`SELECT count(*) AS n FROM "${o.name}"`)
						.get() as { n: number };
					tables[o.name] = {
						rows: n,
						tableBytes: pages.get(o.name) ?? 0,
						indexBytes: 0,
						indexes: [],
					};
				}
			for (const o of objects) {
				const table = tables[o.tableName];
				if (o.type !== "index" || !table) continue;
				table.indexBytes += pages.get(o.name) ?? 0;
				table.indexes.push(o.name);
			}
			const pragma = (name: string) =>
				Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0]);
			const pageSize = pragma("page_size");
			return {
				file,
				fileBytes: pragma("page_count") * pageSize,
				freeBytes: pragma("freelist_count") * pageSize,
				tables,
			};
		} finally {
			db.close();
			rmSync(copy, { recursive: true, force: true });
		}
	}
	throw new Error(`no D1 database with migrations applied under ${folder}`);
}

/** One R2 binding's objects. */
export interface BucketSize {
	objects: number;
	bytes: number;
	/** Objects per UTC hour partition (`dt=…/hour=…` in the key, else the upload hour). */
	byHour: Record<string, number>;
}

interface ListedObject {
	key: string;
	size: number;
	uploaded: Date;
}
interface ListableBucket {
	list(options: { cursor?: string; limit?: number }): Promise<{
		objects: ListedObject[];
		truncated: boolean;
		cursor?: string;
	}>;
}

/**
 * Lists every object of every R2 binding in `configPath` in a local state folder, through
 * wrangler's platform proxy (the local buckets the Worker wrote), offline.
 *
 * @example
 * await measureR2("wrangler.toml", "/tmp/state") // { RECORDS: { objects: 81, bytes: …, byHour: {…} }, ARCHIVE: … }
 */
export async function measureR2(
	configPath: string,
	persistTo: string,
): Promise<Record<string, BucketSize>> {
	const config = parse(readFileSync(configPath, "utf8")) as {
		r2_buckets?: { binding: string }[];
	};
	const bindings = (config.r2_buckets ?? []).map((b) => b.binding);
	if (bindings.length === 0) return {};
	const { getPlatformProxy } = await import("wrangler");
	const proxy = await getPlatformProxy<Record<string, unknown>>({
		configPath,
		persist: { path: join(persistTo, "v3") },
		remoteBindings: false,
	});
	try {
		const sizes: Record<string, BucketSize> = {};
		for (const binding of bindings) {
			const bucket = proxy.env[binding] as ListableBucket;
			const size: BucketSize = { objects: 0, bytes: 0, byHour: {} };
			let cursor: string | undefined;
			do {
				const page = await bucket.list({ cursor, limit: 1000 });
				for (const object of page.objects) {
					size.objects++;
					size.bytes += object.size;
					const hour = hourOf(object);
					size.byHour[hour] = (size.byHour[hour] ?? 0) + 1;
				}
				cursor = page.truncated ? page.cursor : undefined;
			} while (cursor);
			sizes[binding] = size;
		}
		return sizes;
	} finally {
		await proxy.dispose();
	}
}

function hourOf(object: ListedObject): string {
	const match = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})/.exec(object.key);
	if (match) return `${match[1]}T${match[2]}`;
	return new Date(object.uploaded).toISOString().slice(0, 13);
}
