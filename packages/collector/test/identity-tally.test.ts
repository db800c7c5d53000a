import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { tallyStatements } from "../src/identity/tally";
import { uniqueId } from "./helpers";

/*
 * identity/tally.ts: the counters the consumer adds with its finish. Profiles may have been
 * merged or deleted since the identity commit that named them.
 */

async function countsOf(profileId: string) {
	const { results } = await env.DB.prepare(
		"SELECT type, count FROM profile_event_counts WHERE profile_id = ?1 ORDER BY type",
	)
		.bind(profileId)
		.all<{ type: string; count: number }>();
	return Object.fromEntries(results.map((r) => [r.type, r.count]));
}

async function addProfile(id: string, mergedInto: string | null = null) {
	await env.DB.prepare(
		"INSERT INTO profiles (id, created_at, updated_at, merged_into) VALUES (?1, ?2, ?2, ?3)",
	)
		.bind(id, new Date().toISOString(), mergedInto)
		.run();
}

let survivor: string;
let absorbed: string;

beforeEach(async () => {
	survivor = uniqueId("prof_survivor");
	absorbed = uniqueId("prof_absorbed");
	await addProfile(survivor);
	await addProfile(absorbed, survivor);
});

describe("identity's counters at the finish", () => {
	it("counts each event once per type, on the live profile an absorbed id was merged into", async () => {
		await env.DB.batch(
			tallyStatements(env.DB, [
				{
					counted: [
						["k1", survivor, "track"],
						["k2", absorbed, "track"],
						["k3", absorbed, "page"],
					],
					dropped: [],
				},
				{ counted: [["k4", survivor, "identify"]], dropped: [] },
			]),
		);
		expect(await countsOf(survivor)).toEqual({
			identify: 1,
			page: 1,
			track: 2,
		});
		expect(await countsOf(absorbed)).toEqual({});
	});

	it("adds to existing counts, and keeps nothing for a profile deleted since its commit", async () => {
		const gone = uniqueId("prof_gone");
		const tally = {
			counted: [
				["k1", survivor, "track"],
				["k2", gone, "track"],
			] as [string, string, string][],
			dropped: [],
		};
		await env.DB.batch(tallyStatements(env.DB, [tally]));
		await env.DB.batch(tallyStatements(env.DB, [tally]));
		expect(await countsOf(survivor)).toEqual({ track: 2 });
		expect(await countsOf(gone)).toEqual({});
	});

	it("leaves out the events in skip (parked unfinished), and writes nothing when nothing is left", async () => {
		const statements = tallyStatements(
			env.DB,
			[
				{
					counted: [
						["k1", survivor, "track"],
						["k2", survivor, "track"],
					],
					dropped: [],
				},
			],
			new Set(["k2"]),
		);
		await env.DB.batch(statements);
		expect(await countsOf(survivor)).toEqual({ track: 1 });
		expect(
			tallyStatements(
				env.DB,
				[{ counted: [["k1", survivor, "track"]], dropped: [["k1", "h"]] }],
				new Set(["k1"]),
			),
		).toEqual([]);
	});

	it("counts dropped events on each matching suppression", async () => {
		const [a, b] = [uniqueId("hash-a"), uniqueId("hash-b")];
		await env.DB.batch(
			[a, b].map((key) =>
				env.DB.prepare(
					"INSERT INTO identity_suppressions (key_hash, deleted_at) VALUES (?1, ?2)",
				).bind(key, new Date().toISOString()),
			),
		);
		await env.DB.batch(
			tallyStatements(env.DB, [
				{
					counted: [],
					dropped: [
						["k1", a],
						["k1", b],
						["k2", a],
						["k3", "no-such-suppression"],
					],
				},
			]),
		);
		const { results } = await env.DB.prepare(
			"SELECT key_hash, dropped_events FROM identity_suppressions WHERE key_hash IN (?1, ?2) ORDER BY key_hash",
		)
			.bind(a, b)
			.all<{ key_hash: string; dropped_events: number }>();
		expect(results).toEqual([
			{ key_hash: a, dropped_events: 2 },
			{ key_hash: b, dropped_events: 1 },
		]);
	});
});
