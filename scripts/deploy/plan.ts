/**
 * The deploy plan: what wrangler.toml needs, compared with what the account has, as data (the
 * run executes it, a dry run prints it), and its text. Pure.
 */
import type { AccountState } from "./account";
import type { Bucket, Database, Namespace, Resources } from "./resources";

/** One thing the deploy does, in the order it does them. */
export type Action =
	| { kind: "queue"; name: string; exists: boolean }
	| { kind: "bucket"; bucket: Bucket; exists: boolean }
	| { kind: "database"; database: Database; exists: boolean; uuid?: string }
	| { kind: "namespace"; namespace: Namespace; exists: boolean; id?: string }
	/** `pending` undefined: not listed yet (the database is new, or the plan is offline). */
	| {
			kind: "migrations";
			database: Database;
			files: string[];
			pending?: string[];
	  }
	| { kind: "deploy"; worker: string }
	/** `file` as shown, `path` absolute. */
	| { kind: "config"; file: string; path: string };

/** A secret the Worker needs, and whether the account has it (undefined: not checked). */
export interface SecretCheck {
	name: string;
	neededBy: string;
	set?: boolean;
}

export interface Plan {
	worker: string;
	mode: "dry-run" | "check" | "run";
	/** What checking the production config found. */
	config: { file: string; status: string; detail: string };
	secrets: SecretCheck[];
	actions: Action[];
	/** Anything that stops a real run; it stops before it changes anything. */
	problems: string[];
	/** Worth knowing, never blocking. */
	notes: string[];
}

export interface PlanInput {
	resources: Resources;
	state: AccountState;
	mode: Plan["mode"];
	/** The production config file and what checking it found. */
	config: {
		file: string;
		path: string;
		status: string;
		detail: string;
		problems: string[];
	};
	/** Secret names with who needs them, e.g. ["ADMIN_TOKEN", ".dev.vars.example"]. */
	secrets: [name: string, neededBy: string][];
	/** The migration files of each D1 binding, in order. */
	migrations: Map<string, string[]>;
	/** How a wrangler command is shown (e.g. with the deploy's --config). */
	show: (args: string[]) => string;
}

/**
 * Compares wrangler.toml's resources with the account and orders what to do: queues, R2, D1, KV
 * (everything the Worker binds exists before it is deployed), migrations (the schema is ready
 * before the new code runs), deploy, then the production config.
 *
 * @example
 * buildPlan({ resources, state: assumeEmpty(resources), mode: "dry-run", … }).actions[0]
 * // { kind: "queue", name: "conduit-events", exists: false }
 */
export function buildPlan(input: PlanInput): Plan {
	const { resources, state } = input;
	const problems = [...input.config.problems];
	const actions: Action[] = [];
	for (const name of resources.queues)
		actions.push({ kind: "queue", name, exists: state.queues.has(name) });
	for (const bucket of resources.buckets)
		actions.push({
			kind: "bucket",
			bucket,
			exists: state.buckets.has(bucket.name),
		});
	for (const database of resources.databases) {
		const found = database.id
			? state.databases.find((db) => db.uuid === database.id)
			: state.databases.find((db) => db.name === database.name);
		if (database.id && !found && state.listed)
			problems.push(
				`wrangler.toml gives ${database.binding} database_id "${database.id}", which this account does not have (another account, or a deleted database?). Remove the line to create or find "${database.name}".`,
			);
		actions.push({
			kind: "database",
			database,
			exists: found !== undefined,
			...(found ? { uuid: found.uuid } : {}),
		});
	}
	for (const namespace of resources.namespaces) {
		const found = namespace.id
			? state.namespaces.find((ns) => ns.id === namespace.id)
			: state.namespaces.find((ns) => ns.title === namespace.title);
		if (namespace.id && !found && state.listed)
			problems.push(
				`wrangler.toml gives ${namespace.binding} id "${namespace.id}", which this account does not have (another account, or a deleted namespace?). Remove the line to create or find "${namespace.title}".`,
			);
		actions.push({
			kind: "namespace",
			namespace,
			exists: found !== undefined,
			...(found ? { id: found.id } : {}),
		});
	}
	for (const database of resources.databases) {
		const files = input.migrations.get(database.binding) ?? [];
		if (files.length === 0) continue;
		const created = !actions.some(
			(action) =>
				action.kind === "database" &&
				action.database.binding === database.binding &&
				action.exists,
		);
		// A database this run creates has every migration to apply.
		const pending = created ? files : state.pending.get(database.binding);
		actions.push({
			kind: "migrations",
			database,
			files,
			...(pending ? { pending } : {}),
		});
	}
	actions.push({ kind: "deploy", worker: resources.worker });
	actions.push({
		kind: "config",
		file: input.config.file,
		path: input.config.path,
	});

	const secrets = input.secrets.map(
		([name, neededBy]): SecretCheck => ({
			name,
			neededBy,
			...(state.secrets ? { set: state.secrets.names.has(name) } : {}),
		}),
	);
	const missing = secrets.filter((secret) => secret.set === false);
	if (missing.length > 0)
		problems.push(
			missingSecrets(missing, state.secrets?.workerExists, input.show),
		);
	const notes = resources.notCreated.map(
		(key) =>
			`wrangler.toml has ${key}: npm run deploy does not create those; create them before deploying.`,
	);
	return {
		worker: resources.worker,
		mode: input.mode,
		config: {
			file: input.config.file,
			status: input.config.status,
			detail: input.config.detail,
		},
		secrets,
		actions,
		problems,
		notes,
	};
}

function missingSecrets(
	missing: SecretCheck[],
	workerExists: boolean | undefined,
	show: (args: string[]) => string,
): string {
	const lines = [
		`Worker secrets not set: ${missing.map((s) => s.name).join(", ")}. Set each (wrangler asks for the value), then run npm run deploy again:`,
		...missing.map((s) => `    ${show(["secret", "put", s.name])}`),
	];
	if (missing.some((s) => s.name === "ADMIN_TOKEN"))
		lines.push(
			"  ADMIN_TOKEN guards the admin API (profiles, replay): 32 or more random characters.",
		);
	if (workerExists === false)
		lines.push(
			"  The Worker does not exist yet: the first `wrangler secret put` creates it (empty) to hold the secret.",
		);
	return lines.join("\n");
}

const HEADINGS: Record<Action["kind"], string> = {
	queue: "Queues (and dead-letter queues)",
	bucket: "R2 buckets",
	database: "D1 databases",
	namespace: "KV namespaces",
	migrations: "D1 migrations (remote)",
	deploy: "Worker",
	config: "Production config",
};

/** A line of the rendered plan, laid out once every subject's width is known. */
type Line = { text: string } | Row;

/**
 * The plan as an operator reads it: each step, each resource with `exists` or `create`, and the
 * command each runs; then what stops the run, if anything.
 *
 * @example
 * console.log(renderPlan(plan, (args) => `npx wrangler ${args.join(" ")}`))
 */
export function renderPlan(
	plan: Plan,
	show: (args: string[]) => string,
): string {
	const lines: Line[] = [];
	const text = (line: string) => lines.push({ text: line });
	const row = (subject: string, status: string, ...details: string[]) =>
		lines.push({ subject, status, details });
	let step = 0;
	const heading = (title: string, command?: string) => {
		step += 1;
		text(`${step}. ${title}${command ? `  (${command})` : ""}`);
	};

	heading("Production config");
	row(plan.config.file, plan.config.status, plan.config.detail);
	heading("Worker secrets", show(["secret", "list"]));
	for (const secret of plan.secrets) {
		const status =
			secret.set === undefined ? "unknown" : secret.set ? "set" : "MISSING";
		row(secret.name, status, `needed by ${secret.neededBy}`);
	}
	if (plan.secrets.some((s) => s.set === undefined))
		text(
			"   (a real run lists them first, and stops before creating anything if one is missing)",
		);
	let current: Action["kind"] | undefined;
	for (const action of plan.actions) {
		if (action.kind !== current) {
			heading(HEADINGS[action.kind]);
			current = action.kind;
		}
		lines.push(renderAction(action, show));
	}

	const width = Math.max(
		...lines.map((line) => ("subject" in line ? line.subject.length : 0)),
	);
	const out = [
		`Deploy plan for Worker ${plan.worker} (${MODES[plan.mode]})`,
		"",
	];
	for (const line of lines) {
		if ("text" in line) {
			out.push(line.text);
			continue;
		}
		const [first = "", ...rest] = line.details;
		const lead = `   ${line.subject.padEnd(width)}  ${line.status.padEnd(8)} `;
		out.push(`${lead}${first}`.trimEnd());
		for (const detail of rest) out.push(`${" ".repeat(lead.length)}${detail}`);
	}
	for (const note of plan.notes) out.push("", `Note: ${note}`);
	if (plan.problems.length > 0) {
		out.push(
			"",
			plan.mode === "run"
				? "Stopped before changing anything:"
				: "A real run would stop before changing anything:",
		);
		for (const problem of plan.problems) out.push(`  - ${problem}`);
	}
	return out.join("\n");
}

const MODES: Record<Plan["mode"], string> = {
	"dry-run":
		"dry run: nothing is sent to Cloudflare; the account is assumed empty, apart from the ids wrangler.toml already holds",
	check: "check: read from the account with list commands; nothing is changed",
	run: "read from the account with list commands",
};

type Row = { subject: string; status: string; details: string[] };

function renderAction(action: Action, show: (args: string[]) => string): Row {
	const row = (subject: string, status: string, ...details: string[]) => ({
		subject,
		status,
		details,
	});
	const state = (exists: boolean) => (exists ? "exists" : "create");
	switch (action.kind) {
		case "queue":
			return action.exists
				? row(action.name, "exists")
				: row(action.name, "create", show(["queues", "create", action.name]));
		case "bucket": {
			const { bucket } = action;
			const create = ["r2", "bucket", "create", bucket.name];
			if (bucket.jurisdiction)
				create.push("--jurisdiction", bucket.jurisdiction);
			const details = action.exists ? [] : [show(create)];
			if (!bucket.named)
				details.push("write its bucket_name into wrangler.toml");
			return row(
				`${bucket.binding}: ${bucket.name}`,
				state(action.exists),
				...details,
			);
		}
		case "database": {
			const { database } = action;
			const details = action.exists
				? []
				: [show(["d1", "create", database.name])];
			if (!database.id)
				details.push("write its database_id into wrangler.toml");
			return row(
				`${database.binding}: ${database.name}`,
				state(action.exists),
				...details,
			);
		}
		case "namespace": {
			const { namespace } = action;
			const details = action.exists
				? []
				: [show(["kv", "namespace", "create", namespace.title])];
			if (!namespace.id) details.push("write its id into wrangler.toml");
			return row(
				`${namespace.binding}: ${namespace.title}`,
				state(action.exists),
				...details,
			);
		}
		case "migrations": {
			const { binding } = action.database;
			const apply = show(["d1", "migrations", "apply", binding, "--remote"]);
			if (action.pending === undefined)
				return row(
					binding,
					"apply",
					apply,
					`those of the ${action.files.length} not applied yet (${action.files.join(", ")})`,
				);
			if (action.pending.length === 0)
				return row(binding, "current", `all ${action.files.length} applied`);
			return row(binding, "apply", apply, action.pending.join(", "));
		}
		case "deploy":
			return row(action.worker, "deploy", show(["deploy"]));
		case "config":
			return row(
				action.file,
				"push",
				`npm run config -- diff ${action.file} --remote`,
				`npm run config -- push ${action.file} --remote   (when they differ)`,
			);
	}
}
