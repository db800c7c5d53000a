import * as v from "valibot";
import { AudiencesSchema, audienceIssues } from "../audiences/schema";
import { MAX_BATCH_EVENTS } from "../destinations/kit/limits";
import { isPrivateNetworkIssue } from "../destinations/kit/settings";
import { IdentitySettingsSchema } from "../identity/settings";
import { SourceConsentSchema } from "../routing/consent";
import { type Destination, DestinationSchema } from "./destinations";
import { ConfigIdSchema } from "./id";

/** An allowed CORS origin: `*` or an exact origin such as `https://shop.example.com`. */
const OriginSchema = v.union(
	[
		v.literal("*"),
		v.pipe(
			v.string(),
			v.check((value) => {
				try {
					return new URL(value).origin === value;
				} catch {
					// Not a URL at all: the check fails and the message below explains it.
					return false;
				}
			}, "must be '*' or an exact origin such as https://shop.example.com (scheme, host, optional port; no path or trailing slash)"),
		),
	],
	"must be '*' or an exact origin",
);

/**
 * A source: one website, app or server that sends events with its own write key.
 *
 * @example
 * { "id": "web", "writeKey": "wk_dev_web_local", "allowedOrigins": ["http://localhost:8788"] }
 */
export const SourceSchema = v.strictObject({
	id: ConfigIdSchema,
	name: v.optional(v.string()),
	writeKey: v.pipe(v.string(), v.minLength(8), v.maxLength(200)),
	/** Browsers may send from these origins; requests without an Origin header are not affected. */
	allowedOrigins: v.optional(v.array(OriginSchema), []),
	/** What is kept of the client's IP address: all of it, its network prefix, or nothing. */
	ipPolicy: v.optional(v.picklist(["full", "truncate", "none"]), "truncate"),
	/**
	 * Whose writes win trait conflicts: a `server` source's traits are never overwritten by a
	 * `client` source's. Default: `client` when allowedOrigins is not empty, else `server`
	 * (identity/trust.ts).
	 */
	trust: v.optional(v.picklist(["client", "server"])),
	/** Whether the RATE_LIMITER binding applies to this source. */
	rateLimit: v.optional(v.boolean(), true),
	enabled: v.optional(v.boolean(), true),
	/** Identity resolution rules for this source's events (see identity/settings.ts); safe defaults. */
	identity: v.optional(IdentitySettingsSchema, {}),
	/** Consent defaults for events that do not state a category, and what GPC denies. */
	consent: v.optional(SourceConsentSchema, {
		defaults: {},
		gpcDenies: ["marketing"],
	}),
});

export const ConfigSchema = v.pipe(
	v.strictObject({
		version: v.literal(1),
		/**
		 * Lets destination URLs name private, loopback, link-local and internal hosts (the local
		 * vendor stand-ins of development and tests). Off in production: a config must not point the
		 * Worker at a metadata service or the network it runs in.
		 */
		allowPrivateNetwork: v.optional(v.boolean(), false),
		sources: v.array(SourceSchema),
		destinations: v.optional(v.array(DestinationSchema), []),
		/** Computed traits and audiences (audiences/schema.ts); absent: none. */
		audiences: v.optional(AudiencesSchema),
	}),
	v.rawCheck(({ dataset, addIssue }) => {
		if (!dataset.typed) return;
		const ids = new Set<string>();
		const keys = new Set<string>();
		dataset.value.sources.forEach((source, index) => {
			if (ids.has(source.id)) {
				addIssue({
					message: `duplicate source id '${source.id}'`,
					path: listPath(dataset.value, "sources", index),
				});
			}
			if (keys.has(source.writeKey)) {
				addIssue({
					message: `source '${source.id}' reuses another source's writeKey`,
					path: listPath(dataset.value, "sources", index),
				});
			}
			ids.add(source.id);
			keys.add(source.writeKey);
		});
		const destinationIds = new Set<string>();
		dataset.value.destinations.forEach((destination, index) => {
			const path = listPath(dataset.value, "destinations", index);
			if (destinationIds.has(destination.id))
				addIssue({
					message: `duplicate destination id '${destination.id}'`,
					path,
				});
			destinationIds.add(destination.id);
			const limit = MAX_BATCH_EVENTS[destination.type];
			if (destination.batchSize !== undefined && destination.batchSize > limit)
				addIssue({
					message: `destination '${destination.id}': batchSize ${destination.batchSize} exceeds the ${destination.type} limit of ${limit}`,
					path,
				});
			const unknown = (destination.filters?.sources ?? []).filter(
				(id) => !ids.has(id),
			);
			if (unknown.length > 0)
				addIssue({
					message: `destination '${destination.id}': filters.sources names unknown source(s) ${unknown.join(", ")}`,
					path,
				});
		});
		const { audiences } = dataset.value;
		if (audiences)
			for (const issue of audienceIssues(audiences, ids, destinationIds))
				addIssue({
					message: issue.message,
					path: pathOf(dataset.value, issue.path),
				});
	}),
);

/** valibot's issue path for a list of keys into the document, so messages read "a.b.0: …". */
function pathOf(
	root: unknown,
	keys: readonly [string | number, ...(string | number)[]],
): [v.IssuePathItem, ...v.IssuePathItem[]] {
	const path: v.IssuePathItem[] = [];
	let node = root as Record<string | number, unknown>;
	for (const key of keys) {
		const value = node?.[key];
		path.push(
			typeof key === "number"
				? {
						type: "array",
						origin: "value",
						input: node as unknown as unknown[],
						key,
						value,
					}
				: { type: "object", origin: "value", input: node, key, value },
		);
		node = value as Record<string | number, unknown>;
	}
	return path as [v.IssuePathItem, ...v.IssuePathItem[]];
}

/** The issue path of `root[key][index]`, so messages read "destinations.1: …". */
function listPath(
	root: { sources: unknown[]; destinations: unknown[] },
	key: "sources" | "destinations",
	index: number,
): [v.ObjectPathItem, v.ArrayPathItem] {
	const items = root[key];
	return [
		{ type: "object", origin: "value", input: root, key, value: items },
		{
			type: "array",
			origin: "value",
			input: items,
			key: index,
			value: items[index],
		},
	];
}

export type Source = v.InferOutput<typeof SourceSchema>;
export type Config = v.InferOutput<typeof ConfigSchema>;
/** A config document as written: defaults may be left out. */
export type ConfigInput = v.InferInput<typeof ConfigSchema>;

/** A validated config with its lookup tables built once. */
export interface LoadedConfig {
	config: Config;
	sourcesByWriteKey: Map<string, Source>;
	/** Every origin some enabled source allows; `*` when one allows all. Used for preflight. */
	origins: Set<string>;
	sourcesById: Map<string, Source>;
	destinationsById: Map<string, Destination>;
}

/**
 * Validates a config document. Every problem is listed, so a bad config can be fixed in one go.
 *
 * @example
 * const result = parseConfig(JSON.parse(text));
 * if (!result.ok) console.error(result.errors.join("\n"));
 */
export function parseConfig(
	input: unknown,
): { ok: true; config: LoadedConfig } | { ok: false; errors: string[] } {
	const result = v.safeParse(ConfigSchema, input);
	// The private-host check lives in each URL field, which cannot see the document's opt-in;
	// its issues are set aside here when the document opts in. They never make the output
	// untyped, so the rest of the document is still checked in full.
	const issues = (result.issues ?? []).filter(
		(issue) => !(allowsPrivateNetwork(input) && isPrivateNetworkIssue(issue)),
	);
	if (issues.length > 0 || !result.typed) {
		return {
			ok: false,
			errors: issues.map((issue) => {
				const path = v.getDotPath(issue);
				return path ? `${path}: ${describe(issue)}` : describe(issue);
			}),
		};
	}
	const config = result.output as Config;
	const sourcesByWriteKey = new Map<string, Source>();
	const origins = new Set<string>();
	const sourcesById = new Map(config.sources.map((s) => [s.id, s]));
	const destinationsById = new Map(config.destinations.map((d) => [d.id, d]));
	for (const source of config.sources) {
		if (!source.enabled) continue;
		sourcesByWriteKey.set(source.writeKey, source);
		for (const origin of source.allowedOrigins) origins.add(origin);
	}
	return {
		ok: true,
		config: {
			config,
			sourcesByWriteKey,
			origins,
			sourcesById,
			destinationsById,
		},
	};
}

function allowsPrivateNetwork(input: unknown): boolean {
	return (
		typeof input === "object" &&
		input !== null &&
		(input as { allowPrivateNetwork?: unknown }).allowPrivateNetwork === true
	);
}

/** Object-level issues speak of keys; say it plainly. */
function describe(issue: v.BaseIssue<unknown>): string {
	if (issue.kind === "schema" && issue.expected === "never")
		return "unknown key";
	if (
		issue.kind === "schema" &&
		issue.received === "undefined" &&
		issue.expected?.startsWith('"')
	)
		return "is required";
	return issue.message;
}

/** Whether `allowed` (a source's list, or every source's origins) admits `origin`. */
export function originAllowed(
	allowed: { has(origin: string): boolean } | readonly string[],
	origin: string,
): boolean {
	const has =
		"has" in allowed
			? (o: string) => allowed.has(o)
			: (o: string) => allowed.includes(o);
	return has("*") || has(origin);
}
