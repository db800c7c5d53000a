/**
 * Carries out a plan, step by step. Must pass, in order: the first failing step stops the run
 * (each step is safe to repeat, so running `npm run deploy` again resumes where it stopped).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { diff, push } from "../config";
import { must, pendingMigrations, type Run } from "./account";
import type { Action, Plan } from "./plan";
import { setBindingField } from "./toml-field";

/** The config CLI's target: the deployed CONFIG namespace (`run` adds the deploy's --config). */
const REMOTE = { remote: true };

export interface ApplyContext {
	run: Run;
	/** The wrangler.toml the ids are written into (the one every command reads). */
	wranglerToml: string;
	log: (line: string) => void;
}

/**
 * Runs each action of the plan: creates what is missing (writing new ids into wrangler.toml
 * before `wrangler deploy` reads it), applies pending migrations, deploys, and pushes the
 * production config when it differs from the deployed one.
 *
 * @throws Error from the first step that fails, with wrangler's message.
 * @example
 * applyPlan(plan, { run, wranglerToml: "wrangler.toml", log: console.log })
 */
export function applyPlan(plan: Plan, context: ApplyContext): void {
	for (const action of plan.actions) step(action, context);
}

function step(action: Action, { run, wranglerToml, log }: ApplyContext): void {
	const writeField = (
		table: string,
		binding: string,
		field: string,
		value: string,
	) => {
		const text = readFileSync(wranglerToml, "utf8");
		const updated = setBindingField(text, table, binding, field, value);
		if (updated === text) return;
		writeFileSync(wranglerToml, updated);
		log(`   wrote ${binding} ${field} = "${value}" into wrangler.toml`);
	};
	switch (action.kind) {
		case "queue":
			if (!action.exists) {
				must(run, ["queues", "create", action.name]);
				log(`Created queue ${action.name}`);
			}
			return;
		case "bucket": {
			const { bucket } = action;
			if (!action.exists) {
				const args = ["r2", "bucket", "create", bucket.name];
				if (bucket.jurisdiction)
					args.push("--jurisdiction", bucket.jurisdiction);
				must(run, args);
				log(`Created R2 bucket ${bucket.name}`);
			}
			if (!bucket.named)
				writeField("r2_buckets", bucket.binding, "bucket_name", bucket.name);
			return;
		}
		case "database": {
			const { database } = action;
			let uuid = action.uuid;
			if (!action.exists) {
				must(run, ["d1", "create", database.name]);
				log(`Created D1 database ${database.name}`);
				// Read the id back from the list rather than from create's human-oriented output.
				const list = JSON.parse(must(run, ["d1", "list", "--json"]).stdout) as {
					name: string;
					uuid: string;
				}[];
				uuid = list.find((db) => db.name === database.name)?.uuid;
			}
			if (!uuid)
				throw new Error(
					`D1 database ${database.name} has no id after creation.`,
				);
			if (!database.id)
				writeField("d1_databases", database.binding, "database_id", uuid);
			return;
		}
		case "namespace": {
			const { namespace } = action;
			let id = action.id;
			if (!action.exists) {
				must(run, ["kv", "namespace", "create", namespace.title]);
				log(`Created KV namespace ${namespace.title}`);
				const list = JSON.parse(
					must(run, ["kv", "namespace", "list"]).stdout,
				) as {
					title: string;
					id: string;
				}[];
				id = list.find((ns) => ns.title === namespace.title)?.id;
			}
			if (!id)
				throw new Error(
					`KV namespace ${namespace.title} has no id after creation.`,
				);
			if (!namespace.id)
				writeField("kv_namespaces", namespace.binding, "id", id);
			return;
		}
		case "migrations": {
			const { binding } = action.database;
			// Planning lists them only where it can: `--check` leaves the database untouched.
			const pending = action.pending ?? pendingMigrations(run, binding);
			if (pending.length === 0) {
				log(`D1 ${binding}: every migration is applied`);
				return;
			}
			log(
				`Applying ${pending.length} migration(s) to D1 ${binding}: ${pending.join(", ")}`,
			);
			must(run, ["d1", "migrations", "apply", binding, "--remote"], {
				stream: true,
			});
			return;
		}
		case "deploy":
			log(`Deploying ${action.worker}`);
			must(run, ["deploy"], { stream: true });
			return;
		case "config": {
			const difference = diff(action.path, REMOTE, run);
			if (difference.code === 0) {
				log(`${action.file} is the config already in KV: not pushed`);
				return;
			}
			log(difference.out);
			const pushed = push(action.path, REMOTE, run);
			if (pushed.code !== 0) throw new Error(pushed.out);
			log(pushed.out);
			return;
		}
	}
}
