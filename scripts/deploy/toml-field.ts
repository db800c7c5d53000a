/**
 * Writes a resource's id into its binding in wrangler.toml as a one-line insertion, so the
 * file's comments and layout stay as the operator wrote them (a TOML round trip would drop them).
 */
import { parse } from "smol-toml";

/** A table header line: `[name]` or `[[name]]`, optionally followed by a comment. */
const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$/;

/**
 * Adds `field = "value"` to the `[[table]]` entry whose `binding` is `binding`, right below its
 * `binding = …` line, and checks the result reads back as intended.
 *
 * @throws Error with the line to add by hand when the entry is not written as a `[[table]]`
 * block (e.g. an inline array) or already has a different value for the field.
 * @example
 * setBindingField('[[kv_namespaces]]\nbinding = "CONFIG"\n', "kv_namespaces", "CONFIG", "id", "0f2a…")
 * // '[[kv_namespaces]]\nbinding = "CONFIG"\nid = "0f2a…"\n'
 */
export function setBindingField(
	text: string,
	table: string,
	binding: string,
	field: string,
	value: string,
): string {
	const current = entry(text, table, binding)?.[field];
	if (current === value) return text;
	const manual = `add \`${field} = "${value}"\` to the [[${table}]] entry with binding = "${binding}" in wrangler.toml`;
	if (current !== undefined)
		throw new Error(
			`wrangler.toml already gives ${binding} ${field} = "${String(current)}"; to use the other one, ${manual}.`,
		);
	const lines = text.split("\n");
	const bindingLine = new RegExp(
		`^\\s*binding\\s*=\\s*(["'])${binding}\\1\\s*(#.*)?$`,
	);
	let inTable = false;
	for (const [index, line] of lines.entries()) {
		const header = HEADER.exec(line);
		if (header) {
			inTable = header[1] === "[[" && header[2] === table;
			continue;
		}
		if (inTable && bindingLine.test(line)) {
			const indent = /^\s*/.exec(line)?.[0] ?? "";
			lines.splice(index + 1, 0, `${indent}${field} = "${value}"`);
			const updated = lines.join("\n");
			if (entry(updated, table, binding)?.[field] === value) return updated;
			break;
		}
	}
	throw new Error(`Could not write ${binding}'s ${field}: ${manual}.`);
}

function entry(
	text: string,
	table: string,
	binding: string,
): Record<string, unknown> | undefined {
	const list: unknown = parse(text)[table];
	if (!Array.isArray(list)) return undefined;
	return (list as unknown[]).find(
		(item): item is Record<string, unknown> =>
			typeof item === "object" &&
			item !== null &&
			(item as Record<string, unknown>).binding === binding,
	);
}
