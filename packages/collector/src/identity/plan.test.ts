import { describe, expect, it } from "vitest";
import type { Identifier } from "./identifiers";
import {
	type Graph,
	type GraphProfile,
	NeedsRead,
	type PlanEvent,
	planResolution,
} from "./plan";

const user = (value: string): Identifier => ({ type: "user_id", value });
const anon = (value: string): Identifier => ({ type: "anonymous_id", value });
const email = (value: string): Identifier => ({ type: "email", value });
const key = (i: Identifier) => `identity:${i.type}:${i.value}`;

let messages = 0;
function event(
	identifiers: Identifier[],
	limits: Record<string, number> = { user_id: 1 },
): PlanEvent {
	return {
		sourceId: "web",
		messageId: `m${++messages}`,
		identifiers,
		limits,
	};
}

/** A graph read from D1: profiles with versions and exact counts. */
function graph(
	profiles: {
		id: string;
		createdAt: string;
		holds: Identifier[];
		version?: number;
	}[],
): Graph {
	const owners = new Map<string, string>();
	const byId = new Map<string, GraphProfile>();
	for (const p of profiles) {
		const counts: Record<string, number> = {};
		for (const identifier of p.holds) {
			owners.set(key(identifier), p.id);
			if (identifier.type === "user_id")
				counts.user_id = (counts.user_id ?? 0) + 1;
		}
		byId.set(p.id, {
			id: p.id,
			createdAt: p.createdAt,
			version: p.version ?? 1,
			counts,
		});
	}
	return { owners, profiles: byId };
}

function ids() {
	let n = 0;
	return () => `new${++n}`;
}

describe("planResolution", () => {
	it("creates a profile for unknown identifiers and attaches them all", () => {
		const plan = planResolution(
			[event([user("u1"), anon("a1"), email("x@y.z")])],
			graph([]),
			ids(),
		);
		expect(plan.profiles).toEqual(["new1"]);
		expect(plan.created).toEqual(["new1"]);
		expect(
			plan.attachments.map((a) => [a.identifier.value, a.profileId]),
		).toEqual([
			["u1", "new1"],
			["a1", "new1"],
			["x@y.z", "new1"],
		]);
		expect(plan.guard.size).toBe(0);
	});

	it("attaches a new identifier to the one profile it meets", () => {
		const plan = planResolution(
			[event([user("u1"), anon("a1")])],
			graph([{ id: "P", createdAt: "1", holds: [anon("a1")], version: 4 }]),
			ids(),
		);
		expect(plan.profiles).toEqual(["P"]);
		expect(plan.created).toEqual([]);
		expect(plan.attachments).toEqual([
			{ identifier: user("u1"), profileId: "P" },
		]);
		expect(plan.guard).toEqual(new Map([["P", 4]]));
		expect(plan.changed).toEqual(["P"]);
		expect(plan.counts.get("P")).toEqual({ user_id: 1 });
	});

	it("merges the profiles an event links into the oldest", () => {
		const plan = planResolution(
			[event([user("u1"), anon("a2")])],
			graph([
				{ id: "NEWER", createdAt: "2", holds: [user("u1")] },
				{ id: "OLDER", createdAt: "1", holds: [anon("a2")] },
			]),
			ids(),
		);
		expect(plan.profiles).toEqual(["OLDER"]);
		expect(plan.merges).toEqual([
			{
				survivorId: "OLDER",
				absorbedId: "NEWER",
				sourceId: "web",
				messageId: expect.any(String),
			},
		]);
		expect(plan.owners.get(key(user("u1")))).toBe("OLDER");
	});

	it("never merges two users: the event stays with its own userId's profile", () => {
		const plan = planResolution(
			[event([user("u64"), anon("shared")])],
			graph([
				{ id: "U63", createdAt: "1", holds: [user("u63"), anon("shared")] },
				{ id: "U64", createdAt: "2", holds: [user("u64")] },
			]),
			ids(),
		);
		expect(plan.profiles).toEqual(["U64"]);
		expect(plan.merges).toEqual([]);
		expect(plan.refusals).toEqual([
			expect.objectContaining({
				profileId: "U64",
				refusedProfileId: "U63",
				identifierType: "user_id",
			}),
		]);
	});

	it("gives a new userId its own profile when the browser's profile already has a user", () => {
		const plan = planResolution(
			[event([user("u64"), anon("shared"), email("p64@x.y")])],
			graph([
				{ id: "U63", createdAt: "1", holds: [user("u63"), anon("shared")] },
			]),
			ids(),
		);
		expect(plan.profiles).toEqual(["new1"]);
		expect(
			plan.attachments.map((a) => [a.identifier.value, a.profileId]),
		).toEqual([
			["u64", "new1"],
			["p64@x.y", "new1"],
		]);
		expect(plan.owners.get(key(anon("shared")))).toBe("U63");
		expect(plan.refusals).toHaveLength(1);
	});

	it("links what it can and refuses only the merge that breaks a limit", () => {
		const plan = planResolution(
			[event([user("u1"), anon("a1"), email("other@x.y")])],
			graph([
				{ id: "ANON", createdAt: "1", holds: [anon("a1")] },
				{
					id: "OTHER",
					createdAt: "2",
					holds: [user("u2"), email("other@x.y")],
				},
			]),
			ids(),
		);
		// u1 is new: it joins the browser's profile; the profile of another user stays apart.
		expect(plan.profiles).toEqual(["ANON"]);
		expect(plan.attachments).toEqual([
			{ identifier: user("u1"), profileId: "ANON" },
		]);
		expect(plan.merges).toEqual([]);
		expect(plan.refusals.map((r) => r.refusedProfileId)).toEqual(["OTHER"]);
	});

	it("follows configured limits, and merges users when the limit allows", () => {
		const g = graph([
			{ id: "A", createdAt: "1", holds: [user("u1")] },
			{ id: "B", createdAt: "2", holds: [user("u2")] },
		]);
		const alias = [user("u2"), user("u1")];
		expect(planResolution([event(alias)], g, ids()).merges).toEqual([]);
		expect(
			planResolution([event(alias, { user_id: 2 })], g, ids()).merges.map(
				(m) => m.absorbedId,
			),
		).toEqual(["B"]);
	});

	it("lets a later event of the batch see what an earlier one did", () => {
		const plan = planResolution(
			[
				event([anon("a1")]),
				event([anon("a1"), user("u1")]),
				event([user("u1")]),
			],
			graph([]),
			ids(),
		);
		expect(plan.profiles).toEqual(["new1", "new1", "new1"]);
		expect(plan.created).toEqual(["new1"]);
	});

	it("drops a profile created and absorbed in the same batch, keeping the existing one", () => {
		const plan = planResolution(
			[event([anon("a-new")]), event([anon("a-new"), user("u1")])],
			graph([{ id: "U1", createdAt: "1", holds: [user("u1")] }]),
			ids(),
		);
		expect(plan.profiles).toEqual(["U1", "U1"]);
		expect(plan.created).toEqual([]);
		expect(plan.merges).toEqual([]);
		expect(plan.attachments).toEqual([
			{ identifier: anon("a-new"), profileId: "U1" },
		]);
	});

	it("reports final survivors when merges chain within a batch", () => {
		const plan = planResolution(
			[event([anon("b"), email("e@x.y")]), event([anon("a"), email("e@x.y")])],
			graph([
				{ id: "C", createdAt: "3", holds: [email("e@x.y")] },
				{ id: "B", createdAt: "2", holds: [anon("b")] },
				{ id: "A", createdAt: "1", holds: [anon("a")] },
			]),
			ids(),
		);
		expect(plan.profiles).toEqual(["A", "A"]);
		expect(plan.merges.map((m) => [m.survivorId, m.absorbedId]).sort()).toEqual(
			[
				["A", "B"],
				["A", "C"],
			],
		);
		expect(plan.changed).toEqual(["A"]);
	});

	it("gives an event without identifiers no profile", () => {
		expect(planResolution([event([])], graph([]), ids()).profiles).toEqual([
			undefined,
		]);
	});

	describe("on cache hints alone", () => {
		const hinted = (
			counts: Record<string, Record<string, number> | null>,
		): Graph => ({
			owners: new Map([
				[key(user("u1")), "P1"],
				[key(anon("a1")), "P1"],
				[key(anon("a2")), "P2"],
			]),
			profiles: new Map(
				Object.entries(counts).map(([id, c]) => [
					id,
					{ id, createdAt: "", version: null, counts: c },
				]),
			),
		});

		it("resolves events whose identifiers point at one profile, guarding only liveness", () => {
			const plan = planResolution(
				[event([user("u1"), anon("a1")])],
				hinted({ P1: null }),
				ids(),
			);
			expect(plan.profiles).toEqual(["P1"]);
			expect(plan.guard).toEqual(new Map([["P1", null]]));
			expect(plan.changed).toEqual([]);
		});

		it("refuses a merge that cached counts already show is over the limit", () => {
			const plan = planResolution(
				[event([user("u1"), anon("a2")])],
				hinted({ P1: { user_id: 1 }, P2: { user_id: 1 } }),
				ids(),
			);
			expect(plan.profiles).toEqual(["P1"]);
			expect(plan.refusals).toHaveLength(1);
		});

		it("asks for a read before allowing a merge, since cached counts are lower bounds", () => {
			expect(() =>
				planResolution(
					[event([user("u1"), anon("a2")])],
					hinted({ P1: { user_id: 1 }, P2: { user_id: 0 } }),
					ids(),
				),
			).toThrow(NeedsRead);
			expect(() =>
				planResolution(
					[event([user("u1"), anon("a2")])],
					hinted({ P1: null, P2: null }),
					ids(),
				),
			).toThrow(NeedsRead);
		});
	});
});
