import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { lifetimeValueOf } from "./helpers";
import {
	consume,
	depsFor,
	liveProfiles,
	message,
	newCache,
	ownerOf,
	resetState,
	seg,
	storeAndResolve,
	toQueued,
	useConfig,
} from "./helpers/identity";
import { recordedEvents } from "./helpers/records";

/** Sends events through the queue consumer, one batch per argument. */
async function send(...batches: Record<string, unknown>[][]) {
	for (const batch of batches) {
		const [result] = await consume(batch.map((e) => message(toQueued(e))));
		expect(result?.ackAll).toBe(true);
	}
}

/** The events of record of a profile: those resolved to it, or to a profile it absorbed. */
async function eventsOf(profileId: string | undefined) {
	const records = (await recordedEvents()).sort((a, b) =>
		a.event.timestamp < b.event.timestamp ? -1 : 1,
	);
	const { results } = await env.DB.prepare(
		`SELECT e.key AS i FROM json_each(?1) AS e JOIN profiles AS p ON p.id = e.value
WHERE coalesce(p.merged_into, p.id) = ?2`,
	)
		.bind(
			JSON.stringify(records.map((r) => String(r.event.context.profileId))),
			profileId ?? "",
		)
		.all<{ i: number }>();
	return results.map((r) => records[r.i]?.event.messageId);
}

async function profileRow(id: string | undefined) {
	return env.DB.prepare("SELECT * FROM profiles WHERE id = ?1")
		.bind(id ?? "")
		.first<{
			id: string;
			merged_into: string | null;
			first_seen: string;
			last_seen: string;
		}>();
}

async function traitsOf(id: string | undefined) {
	const { results } = await env.DB.prepare(
		"SELECT key, value FROM profile_traits WHERE profile_id = ?1",
	)
		.bind(id ?? "")
		.all<{ key: string; value: string }>();
	return Object.fromEntries(results.map((r) => [r.key, JSON.parse(r.value)]));
}

async function countsOf(id: string | undefined) {
	const { results } = await env.DB.prepare(
		"SELECT type, count FROM profile_event_counts WHERE profile_id = ?1",
	)
		.bind(id ?? "")
		.all<{ type: string; count: number }>();
	return Object.fromEntries(results.map((r) => [r.type, r.count]));
}

beforeEach(async () => {
	await resetState();
	await useConfig();
});

describe("anonymous browsing, then identify", () => {
	it("keeps the anonymous events on the profile the user is identified into", async () => {
		const browse = [
			seg({ type: "page", anonymousId: "a1", name: "Home" }),
			seg({ type: "track", anonymousId: "a1", event: "Product Viewed" }),
		];
		await send(browse);
		const anonymous = await ownerOf("anonymous_id", "a1");
		await send([seg({ type: "identify", anonymousId: "a1", userId: "u1" })]);

		expect(await ownerOf("user_id", "u1")).toBe(anonymous);
		expect(await eventsOf(anonymous)).toHaveLength(3);
		expect(await countsOf(anonymous)).toEqual({
			page: 1,
			track: 1,
			identify: 1,
		});
	});

	it("moves them to the user's existing profile when the user signed in elsewhere first", async () => {
		await send([
			seg({ type: "identify", anonymousId: "laptop", userId: "u1" }),
		]);
		const home = await ownerOf("user_id", "u1");
		await send([
			seg({ type: "page", anonymousId: "phone", name: "Home" }),
			seg({ type: "page", anonymousId: "phone", name: "Cart" }),
		]);
		const phone = await ownerOf("anonymous_id", "phone");
		expect(phone).not.toBe(home);

		await send([seg({ type: "identify", anonymousId: "phone", userId: "u1" })]);

		expect(await ownerOf("anonymous_id", "phone")).toBe(home);
		expect(await eventsOf(home)).toHaveLength(4);
		expect(await eventsOf(phone)).toEqual([]);
		expect(await countsOf(home)).toEqual({ identify: 2, page: 2 });
		expect((await profileRow(phone))?.merged_into).toBe(home);
		const merges = await env.DB.prepare("SELECT * FROM profile_merges").all();
		expect(merges.results).toEqual([
			expect.objectContaining({ survivor_id: home, absorbed_id: phone }),
		]);
	});

	it("hands the profile id to later stages as context.profileId", async () => {
		const result = await storeAndResolve(
			[
				seg({ type: "page", anonymousId: "a9" }),
				seg({ type: "identify", anonymousId: "a9", userId: "u9" }),
			],
			depsFor(newCache()),
		);
		const profile = await ownerOf("user_id", "u9");
		expect(profile).toMatch(/^prof_/);
		expect(result.events.map((e) => e.event.context.profileId)).toEqual([
			profile,
			profile,
		]);
	});
});

describe("alias", () => {
	it("links previousId (an anonymous id) to the userId's profile", async () => {
		await send([seg({ type: "page", anonymousId: "a1" })]);
		await send([seg({ type: "identify", anonymousId: "a2", userId: "u1" })]);
		await send([seg({ type: "alias", userId: "u1", previousId: "a1" })]);
		const home = await ownerOf("user_id", "u1");
		expect(await ownerOf("anonymous_id", "a1")).toBe(home);
		expect(await ownerOf("anonymous_id", "a2")).toBe(home);
		expect((await liveProfiles()).size).toBe(1);
	});

	it("follows a chain of aliases when the source allows several user ids", async () => {
		await useConfig({ maxPerProfile: { user_id: 3 } });
		await send([seg({ type: "identify", anonymousId: "a1", userId: "u1" })]);
		await send([seg({ type: "alias", userId: "u2", previousId: "u1" })]);
		await send([seg({ type: "alias", userId: "u3", previousId: "u2" })]);
		await send([
			seg({ type: "track", userId: "u3", event: "Order Completed" }),
		]);
		const profiles = await liveProfiles();
		expect([...profiles.values()]).toEqual([
			["anonymous_id:a1", "user_id:u1", "user_id:u2", "user_id:u3"],
		]);
	});

	it("refuses to link two known users under the default limit, and records it", async () => {
		await send([seg({ type: "identify", anonymousId: "a1", userId: "u1" })]);
		await send([seg({ type: "identify", anonymousId: "a2", userId: "u2" })]);
		await send([
			seg({
				type: "alias",
				userId: "u2",
				previousId: "u1",
				messageId: "alias-1",
			}),
		]);
		const u1 = await ownerOf("user_id", "u1");
		const u2 = await ownerOf("user_id", "u2");
		expect(u1).not.toBe(u2);
		const refusals = await env.DB.prepare(
			"SELECT * FROM identity_refusals",
		).all();
		expect(refusals.results).toEqual([
			expect.objectContaining({
				message_id: "alias-1",
				profile_id: u2,
				refused_profile_id: u1,
				identifier_type: "user_id",
			}),
		]);
	});
});

describe("blocked values", () => {
	it("never links people through placeholder ids", async () => {
		await send([
			seg({
				type: "identify",
				anonymousId: "a1",
				userId: "guest",
				traits: { email: "NULL" },
			}),
			seg({
				type: "identify",
				anonymousId: "a2",
				userId: "Guest",
				traits: { email: "null" },
			}),
			seg({ type: "page", anonymousId: "a3", userId: "anonymous" }),
		]);
		const profiles = await liveProfiles();
		expect([...profiles.values()].sort()).toEqual([
			["anonymous_id:a1"],
			["anonymous_id:a2"],
			["anonymous_id:a3"],
		]);
	});

	it("gives an event with only blocked identifiers no profile", async () => {
		const result = await storeAndResolve(
			[
				seg({
					type: "track",
					event: "A",
					userId: "unknown",
					anonymousId: "-1",
				}),
			],
			depsFor(newCache()),
		);
		expect(result.stats).toMatchObject({ resolved: 0, unresolved: 1 });
		expect(result.events[0]?.event.context.profileId).toBeUndefined();
		expect((await liveProfiles()).size).toBe(0);
	});

	it("applies a source's own blocked values", async () => {
		await useConfig({ blockedValues: ["test@example.com"] });
		await send([
			seg({
				type: "identify",
				anonymousId: "a1",
				traits: { email: "Test@Example.com" },
			}),
			seg({
				type: "identify",
				anonymousId: "a2",
				traits: { email: "test@example.com" },
			}),
		]);
		expect((await liveProfiles()).size).toBe(2);
	});
});

describe("traits", () => {
	it("keeps the value of the latest identify by event time, not arrival", async () => {
		await send([
			seg({
				type: "identify",
				userId: "u1",
				timestamp: "2026-11-01T10:00:00.000Z",
				traits: { plan: "pro", seats: 5 },
			}),
		]);
		await send([
			seg({
				type: "identify",
				userId: "u1",
				timestamp: "2026-11-01T09:00:00.000Z",
				traits: { plan: "free", name: "Ann" },
			}),
		]);
		const home = await ownerOf("user_id", "u1");
		expect(await traitsOf(home)).toEqual({
			plan: "pro",
			seats: 5,
			name: "Ann",
		});
	});

	it("keeps the latest value of each trait when profiles merge", async () => {
		await send([
			seg({
				type: "identify",
				anonymousId: "laptop",
				userId: "u1",
				timestamp: "2026-11-01T12:00:00.000Z",
				traits: { plan: "pro" },
			}),
			seg({
				type: "identify",
				anonymousId: "phone",
				timestamp: "2026-11-01T08:00:00.000Z",
				traits: { plan: "free", city: "Berlin" },
			}),
		]);
		await send([seg({ type: "page", anonymousId: "phone", userId: "u1" })]);
		const home = await ownerOf("user_id", "u1");
		expect(await ownerOf("anonymous_id", "phone")).toBe(home);
		expect(await traitsOf(home)).toEqual({ plan: "pro", city: "Berlin" });
	});

	it("keeps group traits per group, and the memberships", async () => {
		await send([
			seg({
				type: "group",
				userId: "u1",
				groupId: "org_1",
				traits: { plan: "team" },
			}),
			seg({
				type: "group",
				userId: "u2",
				groupId: "org_1",
				traits: { seats: 10 },
			}),
			seg({
				type: "group",
				userId: "u1",
				groupId: "org_2",
				traits: { plan: "free" },
			}),
		]);
		const groups = await env.DB.prepare(
			"SELECT group_id, key, value FROM group_traits ORDER BY group_id, key",
		).all();
		expect(groups.results).toEqual([
			{ group_id: "org_1", key: "plan", value: '"team"' },
			{ group_id: "org_1", key: "seats", value: "10" },
			{ group_id: "org_2", key: "plan", value: '"free"' },
		]);
		const memberships = await env.DB.prepare(
			"SELECT profile_id, group_id FROM profile_groups ORDER BY group_id",
		).all();
		expect(memberships.results).toHaveLength(3);
	});
});

describe("computed traits", () => {
	it("sums lifetime value from Order Completed (revenue, else total, else value) and tracks first and last seen", async () => {
		await send([
			seg({
				type: "track",
				userId: "u1",
				event: "Order Completed",
				timestamp: "2026-11-01T09:00:00.000Z",
				properties: { revenue: 50, total: 60 },
			}),
			seg({
				type: "track",
				userId: "u1",
				event: "Order Completed",
				timestamp: "2026-11-01T11:00:00.000Z",
				properties: { total: 20.5 },
			}),
			seg({
				type: "track",
				userId: "u1",
				event: "Order Completed",
				timestamp: "2026-11-01T07:00:00.000Z",
				properties: { value: "4.5" },
			}),
			seg({
				type: "track",
				userId: "u1",
				event: "Checkout Started",
				properties: { revenue: 1000 },
			}),
		]);
		const row = await profileRow(await ownerOf("user_id", "u1"));
		expect(await lifetimeValueOf(row?.id)).toBe(75);
		expect(row?.first_seen).toBe("2026-11-01T07:00:00.000Z");
		expect(row?.last_seen).toBe("2026-11-01T11:00:00.000Z");
	});

	it("counts nothing twice when the queue redelivers a batch that failed after resolution", async () => {
		const batch = [
			message(
				toQueued(
					seg({
						type: "track",
						userId: "u1",
						event: "Order Completed",
						properties: { revenue: 10 },
					}),
				),
			),
			message(toQueued(seg({ type: "page", userId: "u1" }))),
		];
		// The first delivery fails when it records the messages finished, after identity.
		const failing = new Proxy(env.DB, {
			get(target, prop) {
				if (prop === "prepare")
					return (sql: string) => {
						if (sql.includes("INTO finished_messages"))
							throw new Error("D1 is unavailable");
						return target.prepare(sql);
					};
				const value = Reflect.get(target, prop, target);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		const [first] = await consume(batch, { on: { DB: failing } });
		expect(first?.retryBatch.retry).toBe(true);
		const home = await ownerOf("user_id", "u1");
		expect(await lifetimeValueOf(home)).toBe(10);
		// The counters go in with the finish, which failed: nothing is counted yet.
		expect(await countsOf(home)).toEqual({});

		const redelivered = batch.map((m) => ({ ...m, attempts: 2 }));
		const [second] = await consume(redelivered);
		expect(second?.ackAll).toBe(true);
		expect(await lifetimeValueOf(home)).toBe(10);
		expect(await countsOf(home)).toEqual({ track: 1, page: 1 });
		const unprocessed = await env.DB.prepare(
			`SELECT COUNT(*) AS n FROM seen
WHERE NOT EXISTS (SELECT 1 FROM finished_messages AS f WHERE f.owner = seen.owner)`,
		).first("n");
		expect(unprocessed).toBe(0);
	});
});
