/** A D1 binding that counts its round trips. */
export interface D1Calls {
	/** Use this in place of the binding. */
	readonly db: D1Database;
	/** Round trips so far: each batch(), exec(), run(), all(), first() or raw() is one. */
	readonly calls: number;
}

type Method = (...args: unknown[]) => unknown;
const EXECUTE = new Set<PropertyKey>(["first", "run", "all", "raw"]);

/**
 * Wraps a real D1 binding so every round trip is counted; statements prepared through it work
 * in its batch() as usual. Sessions are not wrapped: withSession() would bypass the count, so it
 * throws rather than under-count.
 *
 * @example
 * const d1 = countingD1(env.DB);
 * await d1.db.batch([d1.db.prepare("SELECT 1"), d1.db.prepare("SELECT 2")]);
 * d1.calls // 1
 */
export function countingD1(real: D1Database): D1Calls {
	let calls = 0;
	const unwrap = new WeakMap<object, D1PreparedStatement>();
	const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
		const proxy = new Proxy(statement, {
			get(target, prop) {
				if (prop === "bind")
					return (...values: unknown[]) => wrap(target.bind(...values));
				const value = Reflect.get(target, prop, target) as unknown;
				if (typeof value !== "function") return value;
				if (!EXECUTE.has(prop)) return value.bind(target);
				return (...args: unknown[]) => {
					calls++;
					return (value as Method).apply(target, args);
				};
			},
		});
		unwrap.set(proxy, statement);
		return proxy;
	};
	const db = new Proxy(real, {
		get(target, prop) {
			if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
			if (prop === "batch")
				return (statements: D1PreparedStatement[]) => {
					calls++;
					return target.batch(statements.map((s) => unwrap.get(s) ?? s));
				};
			if (prop === "exec")
				return (sql: string) => {
					calls++;
					return target.exec(sql);
				};
			if (prop === "withSession")
				return () => {
					throw new Error("countingD1 does not count sessions");
				};
			const value = Reflect.get(target, prop, target) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return {
		db,
		get calls() {
			return calls;
		},
	};
}
