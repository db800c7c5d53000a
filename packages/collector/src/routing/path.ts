import type { WireObject } from "@conduit/protocol";

/**
 * The value at a dot path of an event (`properties.revenue`, `context.page.url`), or undefined.
 *
 * @example
 * valueAt({ properties: { total: 5 } }, "properties.total") // 5
 */
export function valueAt(root: unknown, path: string): unknown {
	let node = root;
	for (const key of path.split(".")) {
		if (typeof node !== "object" || node === null || Array.isArray(node))
			return undefined;
		if (!Object.hasOwn(node, key)) return undefined;
		node = (node as WireObject)[key];
	}
	return node;
}

/**
 * Applies `change` to the value at a dot path, copying each object on the way so the input is
 * never modified. `change` returning undefined deletes the key. A missing path is left alone.
 *
 * @example
 * updateAt({ traits: { email: "a@b.c" } }, "traits.email", () => undefined) // { traits: {} }
 */
export function updateAt<T extends WireObject>(
	root: T,
	path: string,
	change: (value: unknown) => unknown,
): T {
	const [key, ...rest] = path.split(".");
	if (key === undefined || !Object.hasOwn(root, key)) return root;
	const copy: WireObject = { ...root };
	if (rest.length === 0) {
		const next = change(copy[key]);
		if (next === undefined) delete copy[key];
		else copy[key] = next;
		return copy as T;
	}
	const child = copy[key];
	if (typeof child !== "object" || child === null || Array.isArray(child))
		return root;
	copy[key] = updateAt(child as WireObject, rest.join("."), change);
	return copy as T;
}

/**
 * `table[key]` when the table has `key` as its own property, else undefined: a lookup by a
 * client-chosen name (an event name, a property key) never finds Object.prototype's members.
 *
 * @example
 * ownValue({ "Order Completed": "purchase" }, "toString") // undefined
 */
export function ownValue<V>(
	table: Readonly<Record<string, V>>,
	key: string,
): V | undefined {
	return Object.hasOwn(table, key) ? table[key] : undefined;
}
