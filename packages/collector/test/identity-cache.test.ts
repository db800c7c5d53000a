import { env } from "cloudflare:workers";
import type { WireObject } from "@conduit/protocol";
import { beforeEach, describe, expect, it } from "vitest";
import {
	depsFor,
	fixtureEvents,
	newCache,
	ownerOf,
	resetState,
	seg,
	storeAndResolve,
} from "./helpers/identity";

const events = fixtureEvents();

function inBatches<T>(items: readonly T[], size: number): T[][] {
	const batches: T[][] = [];
	for (let i = 0; i < items.length; i += size)
		batches.push(items.slice(i, i + size));
	return batches;
}

/** The fixture events again, as new events (new messageIds) of the same people. */
function again(round: string): WireObject[] {
	return events.map((e) => ({ ...e, messageId: `${e.messageId}-${round}` }));
}

beforeEach(resetState);

// Each case resolves the whole fixture twice over, hundreds of batches: a workload, which on a
// loaded two-core machine takes longer than the default five seconds.
describe("resolution on a warm cache", { timeout: 30_000 }, () => {
	it("costs one D1 round trip per batch whose identifiers are all known", async () => {
		const cache = newCache();
		for (const batch of inBatches(events, 100)) {
			const deps = depsFor(cache);
			await storeAndResolve(batch, deps);
			expect(deps.d1.calls).toBe(2); // cold: one read, one write
		}

		for (const batch of inBatches(again("warm"), 100)) {
			const deps = depsFor(cache);
			const { events: resolved, stats } = await storeAndResolve(batch, deps);
			expect(stats).toMatchObject({ reads: 0, attempts: 1, kvHits: 0 });
			expect(deps.d1.calls).toBe(1);
			for (const { event } of resolved) {
				const expected = await ownerOf(
					event.userId ? "user_id" : "anonymous_id",
					event.userId ?? event.anonymousId ?? "",
				);
				expect(event.context.profileId).toBe(expected);
			}
		}
	});

	it("costs one D1 round trip per batch from KV alone, in a new isolate", async () => {
		for (const batch of inBatches(events, 100))
			await storeAndResolve(batch, depsFor(newCache()));

		const isolate = newCache();
		for (const batch of inBatches(again("new-isolate"), 100)) {
			const deps = depsFor(isolate);
			await storeAndResolve(batch, deps);
			expect(deps.d1.calls).toBe(1);
		}
		const first = depsFor(newCache());
		const { stats } = await storeAndResolve(
			again("kv-only").slice(0, 100),
			first,
		);
		expect(stats.kvHits).toBeGreaterThan(0);
		expect(stats.memoryHits).toBe(0);
		expect(first.d1.calls).toBe(1);
	});
});

describe("after a merge", () => {
	/**
	 * Two isolates sharing KV: A knows laptop (u1) and phone apart; B then merges them. The
	 * user's profile is created first (and its id sorts first), so it is the older and survives.
	 */
	async function mergeInAnotherIsolate() {
		const a = newCache();
		await storeAndResolve(
			[seg({ type: "identify", anonymousId: "laptop", userId: "u1" })],
			depsFor(a, { newProfileId: () => "prof_1_laptop" }),
		);
		await storeAndResolve(
			[
				seg({
					type: "identify",
					anonymousId: "phone",
					traits: { email: "ann@example.com" },
				}),
			],
			depsFor(a, { newProfileId: () => "prof_2_phone" }),
		);
		const home = await ownerOf("user_id", "u1");
		const phone = await ownerOf("anonymous_id", "phone");
		expect(phone).not.toBe(home);
		expect(a.identities.get("identity:anonymous_id:phone")).toBe(phone);

		const b = newCache();
		await storeAndResolve(
			[seg({ type: "identify", anonymousId: "phone", userId: "u1" })],
			depsFor(b),
		);
		expect(await ownerOf("anonymous_id", "phone")).toBe(home);
		return { a, home, phone };
	}

	it("re-points every identity of the absorbed profile in KV", async () => {
		const { home } = await mergeInAnotherIsolate();
		expect(await env.IDENTITY_CACHE.get("identity:anonymous_id:phone")).toBe(
			home,
		);
		// email:… never appeared in the merging event: it moved with its profile.
		expect(await env.IDENTITY_CACHE.get("identity:email:ann@example.com")).toBe(
			home,
		);
	});

	it("never trusts a stale hint: the write is refused and the batch resolved again", async () => {
		const { a, home, phone } = await mergeInAnotherIsolate();
		expect(a.identities.get("identity:anonymous_id:phone")).toBe(phone);

		const deps = depsFor(a);
		const { events: resolved, stats } = await storeAndResolve(
			[seg({ type: "page", anonymousId: "phone" })],
			deps,
		);
		expect(resolved[0]?.event.context.profileId).toBe(home);
		expect(stats).toMatchObject({ attempts: 2, reads: 1 });
		expect(a.identities.get("identity:anonymous_id:phone")).toBe(home);
		const onAbsorbed = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM profile_event_counts WHERE profile_id = ?1",
		)
			.bind(phone ?? "")
			.first<number>("n");
		expect(onAbsorbed).toBe(0);
	});

	it("follows a stale hint through merged_into when the batch reads anyway", async () => {
		const { a, home } = await mergeInAnotherIsolate();
		const { events: resolved, stats } = await storeAndResolve(
			[
				seg({
					type: "identify",
					anonymousId: "phone",
					traits: { email: "new@example.com" },
				}),
			],
			depsFor(a),
		);
		expect(stats).toMatchObject({ attempts: 1, reads: 1 });
		expect(resolved[0]?.event.context.profileId).toBe(home);
		expect(await ownerOf("email", "new@example.com")).toBe(home);
	});
});
