/*
 * Best effort: metering never changes what a statement does or returns; a statement whose
 * result carries no `meta` (a `raw()` call) is counted with zero rows.
 */

/** What the statements on one table cost. */
export interface TableUsage {
	/** Statements run (each statement of a batch counts once). */
	statements: number;
	/** D1's own count, `meta.rows_read` summed: the figure Cloudflare bills. */
	rowsRead: number;
	/** `meta.rows_written` summed: each row inserted, updated or deleted, plus each index row. */
	rowsWritten: number;
	/** Wall time of the round trips, shared out over their statements by rows touched. */
	ms: number;
}

/** A D1 binding that counts rows per table. */
export interface D1Meter {
	/** Use this in place of the binding. */
	readonly db: D1Database;
	/** Usage so far, by the table each statement writes (else reads; else `other`). */
	usage(): Record<string, TableUsage>;
}

interface Meta {
	rows_read?: number;
	rows_written?: number;
}

const WRITE =
	/\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`[]?(\w+)/i;
const READ = /\b(?:FROM|JOIN)\s+["`[]?(\w+)/gi;
const NOT_TABLES = new Set(["json_each", "json_tree", "pragma_table_info"]);

/**
 * The table a statement is charged to: the one it writes, else the first table it reads
 * (`json_each` is not one), else `other` (`SELECT 1`, `PRAGMA …`).
 *
 * @example
 * tableOf("INSERT INTO seen (key) SELECT value FROM json_each(?1)") // "seen"
 * tableOf("SELECT id FROM profiles WHERE id = ?") // "profiles"
 */
export function tableOf(sql: string): string {
	const written = WRITE.exec(sql)?.[1];
	if (written) return written.toLowerCase();
	for (const [, name = ""] of sql.matchAll(READ)) {
		const read = name.toLowerCase();
		if (!NOT_TABLES.has(read)) return read;
	}
	return "other";
}

/**
 * Wraps a real D1 binding so that every statement's `meta.rows_read` and `meta.rows_written`
 * are summed per table (see {@link tableOf}), with the wall time of its round trip. Statements
 * prepared through it work in its batch() as usual; `first()` runs as `all()` so its meta is
 * seen. Sessions are not wrapped: withSession() throws rather than under-count.
 *
 * @example
 * const meter = meterD1(env.DB);
 * await meter.db.prepare("INSERT INTO seen (key) VALUES (?)").bind(1).run();
 * meter.usage() // { seen: { statements: 1, rowsRead: 0, rowsWritten: 1, ms: 0 } }
 */
export function meterD1(real: D1Database): D1Meter {
	const tables: Record<string, TableUsage> = {};
	const sqlOf = new WeakMap<object, string>();
	const unwrap = new WeakMap<object, D1PreparedStatement>();

	const record = (sqls: string[], metas: (Meta | undefined)[], ms: number) => {
		const touched = metas.map(
			(m) => (m?.rows_read ?? 0) + (m?.rows_written ?? 0),
		);
		const total = touched.reduce((a, b) => a + b, 0);
		sqls.forEach((sql, i) => {
			const table = tableOf(sql);
			const usage = tables[table] ?? {
				statements: 0,
				rowsRead: 0,
				rowsWritten: 0,
				ms: 0,
			};
			tables[table] = usage;
			usage.statements += 1;
			usage.rowsRead += metas[i]?.rows_read ?? 0;
			usage.rowsWritten += metas[i]?.rows_written ?? 0;
			usage.ms +=
				total > 0 ? (ms * (touched[i] ?? 0)) / total : ms / sqls.length;
		});
	};

	const timed = async <T>(
		sqls: string[],
		run: () => Promise<T>,
		metas: (result: T) => (Meta | undefined)[],
	): Promise<T> => {
		const started = Date.now();
		const result = await run();
		record(sqls, metas(result), Date.now() - started);
		return result;
	};

	const wrap = (statement: D1PreparedStatement, sql: string) => {
		const proxy: D1PreparedStatement = new Proxy(statement, {
			get(target, prop) {
				if (prop === "bind")
					return (...values: unknown[]) => wrap(target.bind(...values), sql);
				if (prop === "run" || prop === "all")
					return () =>
						timed(
							[sql],
							() => target[prop](),
							(r) => [r.meta],
						);
				if (prop === "first")
					return async (column?: string) => {
						const { results } = await timed(
							[sql],
							() => target.all<Record<string, unknown>>(),
							(r) => [r.meta],
						);
						const row = results[0] ?? null;
						return column === undefined ? row : (row?.[column] ?? null);
					};
				if (prop === "raw")
					return (options?: { columnNames?: boolean }) =>
						timed(
							[sql],
							// The overload with columnNames: true returns the names first.
							() => target.raw(options as { columnNames: true }),
							() => [undefined],
						);
				const value = Reflect.get(target, prop, target) as unknown;
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		sqlOf.set(proxy, sql);
		unwrap.set(proxy, statement);
		return proxy;
	};

	const db = new Proxy(real, {
		get(target, prop) {
			if (prop === "prepare")
				return (sql: string) => wrap(target.prepare(sql), sql);
			if (prop === "batch")
				return (statements: D1PreparedStatement[]) =>
					timed(
						statements.map((s) => sqlOf.get(s) ?? ""),
						() => target.batch(statements.map((s) => unwrap.get(s) ?? s)),
						(results) => results.map((r) => r.meta),
					);
			if (prop === "exec")
				return (sql: string) =>
					timed(
						[sql],
						() => target.exec(sql),
						() => [undefined],
					);
			if (prop === "withSession")
				return () => {
					throw new Error("meterD1 does not meter sessions");
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { db, usage: () => tables };
}
