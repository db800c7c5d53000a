/**
 * What the Worker needs on a Cloudflare account, read from wrangler.toml: a binding added there
 * is deployed without touching the deploy script. Pure: text in, list out.
 */
import { parse } from "smol-toml";
import * as v from "valibot";

const Named = v.string();
const Binding = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/));

/** The slice of wrangler's config schema that names resources (every other key is kept aside). */
const WranglerTomlSchema = v.looseObject({
	name: Named,
	queues: v.optional(
		v.looseObject({
			producers: v.optional(
				v.array(v.looseObject({ binding: Binding, queue: Named })),
				[],
			),
			consumers: v.optional(
				v.array(
					v.looseObject({
						queue: Named,
						dead_letter_queue: v.optional(Named),
					}),
				),
				[],
			),
		}),
		{ producers: [], consumers: [] },
	),
	r2_buckets: v.optional(
		v.array(
			v.looseObject({
				binding: Binding,
				bucket_name: v.optional(Named),
				jurisdiction: v.optional(v.string()),
			}),
		),
		[],
	),
	d1_databases: v.optional(
		v.array(
			v.looseObject({
				binding: Binding,
				database_name: v.optional(Named),
				database_id: v.optional(v.string()),
				migrations_dir: v.optional(v.string()),
			}),
		),
		[],
	),
	kv_namespaces: v.optional(
		v.array(v.looseObject({ binding: Binding, id: v.optional(v.string()) })),
		[],
	),
});

/** Bindings that need a resource this script does not create: the plan says so. */
const NOT_CREATED = [
	"vectorize",
	"hyperdrive",
	"dispatch_namespaces",
	"pipelines",
	"secrets_store_secrets",
] as const;

export interface Bucket {
	binding: string;
	name: string;
	/** Whether wrangler.toml names the bucket (else the deploy writes `bucket_name`). */
	named: boolean;
	jurisdiction?: string;
}

export interface Database {
	binding: string;
	name: string;
	/** `database_id` when wrangler.toml has it. */
	id?: string;
	/** Relative to wrangler.toml's folder; wrangler's default is `migrations`. */
	migrationsDir: string;
}

export interface Namespace {
	binding: string;
	/** The namespace's title on the account (KV bindings have no name field). */
	title: string;
	/** `id` when wrangler.toml has it. */
	id?: string;
}

export interface Resources {
	worker: string;
	/** Every queue a producer, consumer or dead-letter setting names, once, in file order. */
	queues: string[];
	buckets: Bucket[];
	databases: Database[];
	namespaces: Namespace[];
	/** wrangler.toml keys naming resources this script leaves to the operator. */
	notCreated: string[];
}

/**
 * The title wrangler itself gives a KV namespace (or D1 database) it provisions for a binding
 * that names none: `<worker>-<binding, lower-case, '_' → '-'>`. Using the same title means a
 * namespace an earlier plain `wrangler deploy` created is found and kept.
 *
 * @example
 * provisionedName("conduit-collector", "IDENTITY_CACHE") // "conduit-collector-identity-cache"
 */
export function provisionedName(worker: string, binding: string): string {
	return `${worker}-${binding.toLowerCase().replaceAll("_", "-")}`;
}

/**
 * The resources a wrangler.toml's top-level bindings need.
 *
 * @throws Error naming the offending key when the file is not TOML or a binding lacks a field.
 * @example
 * resourcesFrom('name = "w"\n[[kv_namespaces]]\nbinding = "CONFIG"\n').namespaces
 * // [{ binding: "CONFIG", title: "w-config" }]
 */
export function resourcesFrom(text: string): Resources {
	const parsed = v.safeParse(WranglerTomlSchema, parse(text));
	if (!parsed.success) {
		const issues = parsed.issues.map(
			(issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`,
		);
		throw new Error(
			`wrangler.toml does not describe a Worker:\n  ${issues.join("\n  ")}`,
		);
	}
	const toml = parsed.output;
	const queues = new Set<string>();
	for (const producer of toml.queues.producers) queues.add(producer.queue);
	for (const consumer of toml.queues.consumers) {
		queues.add(consumer.queue);
		if (consumer.dead_letter_queue) queues.add(consumer.dead_letter_queue);
	}
	return {
		worker: toml.name,
		queues: [...queues],
		buckets: toml.r2_buckets.map((bucket) => ({
			binding: bucket.binding,
			name: bucket.bucket_name ?? provisionedName(toml.name, bucket.binding),
			named: bucket.bucket_name !== undefined,
			...(bucket.jurisdiction ? { jurisdiction: bucket.jurisdiction } : {}),
		})),
		databases: toml.d1_databases.map((database) => ({
			binding: database.binding,
			name:
				database.database_name ?? provisionedName(toml.name, database.binding),
			...(database.database_id ? { id: database.database_id } : {}),
			migrationsDir: database.migrations_dir ?? "migrations",
		})),
		namespaces: toml.kv_namespaces.map((namespace) => ({
			binding: namespace.binding,
			title: provisionedName(toml.name, namespace.binding),
			...(namespace.id ? { id: namespace.id } : {}),
		})),
		notCreated: [
			...NOT_CREATED.filter((key) => key in toml),
			...("env" in toml ? ["env (named environments)"] : []),
		],
	};
}
