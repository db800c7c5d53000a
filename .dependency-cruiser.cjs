/*
 * The import check run by `npm test` (`npm run deps`): no import circle in the SDK, the
 * protocol or the collector, and no import from a lower layer of the collector back up. The
 * collector's layers, top to bottom (ARCHITECTURE.md, code map):
 *
 *   index.ts, cron.ts        the Worker's entry points
 *   http/, queues/           the app and its admin routes; one consumer per queue
 *   parked/, delivery/       replay of parked items; fan-out, delivery and its jobs
 *   audiences/               computed traits and audiences (its schema.ts and duration.ts are
 *                            part of the config document, read by config/)
 *   ingest/                  validate, enrich, the EVENTS message, the spool
 *   identity/                profiles, erasure
 *   config/, routing/, destinations/ (kit/ below the one folder per type)
 *   db/, archive/, records/  SQL, R2 objects
 *   event.ts, limits.ts, errors.ts, json.ts, hash.ts, @conduit/protocol   leaves
 *
 * Tests may reach across layers (a test of a consumer builds its messages with ingest's
 * packer): the layer rules skip them; the circle rule does not.
 */
const collector = "^packages/collector/src/";
const test = "\\.test\\.ts$";

/** A rule forbidding imports from `from` (folders under collector/src) into `to`. */
function layer(name, comment, from, to, options = {}) {
	return {
		name,
		comment,
		severity: "error",
		from: {
			path: `${collector}(${from.join("|")})`,
			pathNot: [test, ...(options.fromNot ?? [])],
		},
		to: {
			path: `${collector}(${to.join("|")})`,
			pathNot: options.toNot ?? [],
		},
	};
}

module.exports = {
	forbidden: [
		{
			name: "no-circular",
			comment:
				"An import circle ties modules into one: none may be understood, tested or moved alone.",
			severity: "error",
			from: {},
			to: { circular: true },
		},
		{
			name: "protocol-is-a-leaf",
			comment:
				"@conduit/protocol is what the SDK and the collector share: it imports nothing of the repository.",
			severity: "error",
			from: { path: "^packages/protocol/src/", pathNot: test },
			to: {
				path: "^(packages|scripts|bench|examples|test)/",
				pathNot: "^packages/protocol/src/",
			},
		},
		{
			name: "sdk-and-collector-apart",
			comment:
				"The SDK and the collector share code only through @conduit/protocol.",
			severity: "error",
			from: { path: "^packages/(sdk|collector)/src/" },
			to: {
				path: "^packages/(sdk|collector)/src/",
				pathNot: "^packages/$1/src/",
			},
		},
		layer(
			"entry-points-on-top",
			"Only the Worker's entry (index.ts) imports the app, the consumers and the cron.",
			["(?!index\\.ts$)"],
			["index\\.ts$", "cron\\.ts$", "http/", "queues/"],
			// The console is HTTP routes of its own (it reuses the admin token's rules in http/).
			{ fromNot: [`${collector}(http|queues|console)/`] },
		),
		layer(
			"http-and-queues-apart",
			"The app and the queue consumers are separate entry points: each uses the layers below, not the other.",
			["http/"],
			["queues/"],
		),
		layer(
			"queues-not-http",
			"The queue consumers never import the HTTP app.",
			["queues/"],
			["http/"],
		),
		layer(
			"delivery-below-entries",
			"Delivery runs for the consumers, the cron and the admin API; it imports none of them, nor parked replay or ingest.",
			["delivery/"],
			["parked/", "ingest/", "queues/", "http/", "cron\\.ts$"],
		),
		layer(
			"parked-below-entries",
			"Parked replay is called by the admin API; it imports no entry point.",
			["parked/"],
			["http/", "queues/", "cron\\.ts$"],
		),
		layer(
			"audiences-below-entries",
			"Audiences run in the EVENTS consumer, the cron and the admin API; they import none of them, nor delivery or parked replay.",
			["audiences/"],
			["delivery/", "parked/", "queues/", "http/", "cron\\.ts$"],
		),
		layer(
			"ingest-below-delivery",
			"Ingest accepts and queues events; it never reaches into delivery, parked replay or the consumers.",
			["ingest/"],
			["delivery/", "parked/", "queues/", "http/"],
		),
		layer(
			"identity-below-ingest",
			"Identity resolution is called by the consumers and the admin API; it imports none of them, nor ingest or delivery.",
			["identity/"],
			["ingest/", "delivery/", "parked/", "queues/", "http/"],
		),
		layer(
			"config-routing-destinations-below",
			"Config, routing and the destination modules are used by delivery; they import nothing above them.",
			["config/", "routing/", "destinations/"],
			[
				"identity/(?!settings)",
				"audiences/(?!schema|duration)",
				"ingest/",
				"delivery/",
				"parked/",
				"queues/",
				"http/",
			],
		),
		{
			name: "destination-kit-below-types",
			comment:
				"The kit serves every destination type; it imports none of them (only the shared types).",
			severity: "error",
			from: { path: `${collector}destinations/kit/`, pathNot: test },
			to: {
				path: `${collector}destinations/`,
				pathNot: `${collector}destinations/(kit/|types\\.ts$)`,
			},
		},
		{
			name: "destination-types-apart",
			comment:
				"One folder per destination type: a type uses the kit, never another type's folder.",
			severity: "error",
			from: {
				path: `${collector}destinations/([^/]+)/`,
				pathNot: [test, `${collector}destinations/kit/`],
			},
			to: {
				path: `${collector}destinations/[^/]+/`,
				pathNot: [
					`${collector}destinations/$1/`,
					`${collector}destinations/kit/`,
				],
			},
		},
		layer(
			"storage-at-the-bottom",
			"db/, archive/ and records/ hold SQL and objects: they import nothing above them.",
			["db/", "archive/", "records/"],
			[
				"config/",
				"routing/",
				"destinations/",
				"identity/",
				"ingest/",
				"delivery/",
				"parked/",
				"queues/",
				"http/",
			],
		),
		layer(
			"leaves",
			"The shared leaves import no other collector module.",
			[
				"event\\.ts$",
				"limits\\.ts$",
				"errors\\.ts$",
				"json\\.ts$",
				"hash\\.ts$",
			],
			[".*"],
		),
	],
	options: {
		// Type-only imports count: an `import type` circle is still a circle for a reader.
		tsPreCompilationDeps: true,
		doNotFollow: { path: "node_modules" },
		exclude: { path: ["node_modules", "/dist/"] },
	},
};
