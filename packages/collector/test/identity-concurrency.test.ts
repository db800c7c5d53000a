import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { isConflict } from "../src/identity/conflict";
import {
	consumeBatch,
	liveProfiles,
	message,
	resetState,
	seg,
	toQueued,
	useConfig,
} from "./helpers/identity";
import { recordedEvents } from "./helpers/records";

/**
 * Runs two consumer invocations in lockstep on the real D1: each one's n-th batch() waits until
 * the other has reached its n-th batch() (or finished). Both therefore store, then both read the
 * graph, then both write — the race the resolver must survive, made certain instead of likely.
 * Failed batches are recorded, so the test can show the race was really lost by one of them.
 */
class Lockstep {
	readonly failures: string[] = [];
	readonly #arrived: [number, number] = [0, 0];
	readonly #finished: [boolean, boolean] = [false, false];
	#waiting: (() => void)[] = [];

	wrap(db: D1Database, side: 0 | 1): D1Database {
		const other = side === 0 ? 1 : 0;
		const batch = async (statements: D1PreparedStatement[]) => {
			const turn = ++this.#arrived[side];
			this.#wake();
			while (!this.#finished[other] && this.#arrived[other] < turn)
				await new Promise<void>((resolve) => this.#waiting.push(resolve));
			try {
				return await db.batch(statements);
			} catch (error) {
				this.failures.push(String(error));
				throw error;
			}
		};
		return new Proxy(db, {
			get(target, prop) {
				if (prop === "batch") return batch;
				const value = Reflect.get(target, prop, target);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
	}

	async run<T>(side: 0 | 1, work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} finally {
			this.#finished[side] = true;
			this.#wake();
		}
	}

	#wake() {
		const waiting = this.#waiting;
		this.#waiting = [];
		for (const resolve of waiting) resolve();
	}
}

/** Runs two batches as two concurrent consumer invocations and returns their queue results. */
async function race(
	first: Record<string, unknown>[],
	second: Record<string, unknown>[],
) {
	const lockstep = new Lockstep();
	const results = await Promise.all(
		[first, second].map((events, side) =>
			lockstep.run(side as 0 | 1, () =>
				consumeBatch(
					events.map((e) => message(toQueued(e))),
					{ DB: lockstep.wrap(env.DB, side as 0 | 1) },
				),
			),
		),
	);
	return { results, failures: lockstep.failures };
}

/**
 * Events of record whose profile id reaches no live profile. A record keeps the id its event
 * was resolved to; a merge since is followed through merged_into, one hop.
 */
async function eventsWithoutLiveProfile() {
	const ids = (await recordedEvents()).map((e) =>
		String(e.event.context.profileId),
	);
	expect(ids.length).toBeGreaterThan(0);
	return env.DB.prepare(
		`SELECT COUNT(*) AS n FROM json_each(?1) AS e
LEFT JOIN profiles AS p ON p.id = e.value
LEFT JOIN profiles AS live ON live.id = coalesce(p.merged_into, p.id)
WHERE live.id IS NULL OR live.merged_into IS NOT NULL`,
	)
		.bind(JSON.stringify(ids))
		.first<number>("n");
}

beforeEach(async () => {
	await resetState();
	await useConfig();
});

describe("two consumers resolving the same person at once", () => {
	it("create one profile when both see the person for the first time", async () => {
		const identify = seg({
			type: "identify",
			anonymousId: "a1",
			userId: "u1",
			traits: { email: "ann@example.com" },
		});
		const { results, failures } = await race(
			[seg({ type: "page", anonymousId: "a1" }), identify],
			[
				identify,
				seg({ type: "identify", anonymousId: "a2", userId: "u1" }),
				seg({ type: "track", userId: "u1", event: "Signed In" }),
			],
		);

		expect(results.every((r) => r?.ackAll)).toBe(true);
		// One writer lost the race on an identifier and planned again.
		expect(failures.length).toBeGreaterThanOrEqual(1);
		expect(failures.every((f) => isConflict(new Error(f)))).toBe(true);
		expect([...(await liveProfiles()).values()]).toEqual([
			[
				"anonymous_id:a1",
				"anonymous_id:a2",
				"email:ann@example.com",
				"user_id:u1",
			],
		]);
		expect(await eventsWithoutLiveProfile()).toBe(0);
		const counted = await env.DB.prepare(
			"SELECT SUM(count) AS n FROM profile_event_counts",
		).first<number>("n");
		expect(counted).toBe(4);
	});

	it("merge two browsers into the user's profile when both sign in at once", async () => {
		const setup = await consumeBatch(
			[
				seg({ type: "identify", anonymousId: "laptop", userId: "u1" }),
				seg({ type: "page", anonymousId: "phone" }),
				seg({ type: "page", anonymousId: "tablet" }),
			].map((e) => message(toQueued(e))),
		);
		expect(setup?.ackAll).toBe(true);
		expect((await liveProfiles()).size).toBe(3);

		const { results, failures } = await race(
			[seg({ type: "identify", anonymousId: "phone", userId: "u1" })],
			[seg({ type: "identify", anonymousId: "tablet", userId: "u1" })],
		);

		expect(results.every((r) => r?.ackAll)).toBe(true);
		// Both planned a merge into the same profile; the guard stopped the second.
		expect(failures.some((f) => f.includes("profiles_unchanged"))).toBe(true);
		expect([...(await liveProfiles()).values()]).toEqual([
			[
				"anonymous_id:laptop",
				"anonymous_id:phone",
				"anonymous_id:tablet",
				"user_id:u1",
			],
		]);
		expect(await eventsWithoutLiveProfile()).toBe(0);
		const merges = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM profile_merges",
		).first<number>("n");
		expect(merges).toBe(2);
	});

	it("keep two users apart when both claim one shared browser at once", async () => {
		const { results } = await race(
			[seg({ type: "identify", anonymousId: "kiosk", userId: "u1" })],
			[seg({ type: "identify", anonymousId: "kiosk", userId: "u2" })],
		);
		expect(results.every((r) => r?.ackAll)).toBe(true);
		const profiles = [...(await liveProfiles()).values()];
		expect(profiles).toHaveLength(2);
		for (const identities of profiles)
			expect(identities.filter((i) => i.startsWith("user_id:"))).toHaveLength(
				1,
			);
		expect(
			profiles.flat().filter((i) => i === "anonymous_id:kiosk"),
		).toHaveLength(1);
	});
});
