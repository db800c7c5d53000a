import { describe, expect, it } from "vitest";
import type { Verdict } from "../types";
import { deleteByIds, identityValues, inParts } from "./deletion";

const deletion = {
	id: 7,
	profileId: "p-7",
	identities: [
		{ type: "anonymous_id", value: "a-1" },
		{ type: "user_id", value: "u-1" },
		{ type: "email", value: "ada@example.com" },
		{ type: "anonymous_id", value: "a-1" },
		{ type: "anonymous_id", value: "a-2" },
	],
	requestedAt: "2026-11-24T09:00:00.000Z",
};

describe("deletion helpers", () => {
	it("identityValues keeps the asked types, in order, once each", () => {
		expect(identityValues(deletion, ["user_id"])).toEqual(["u-1"]);
		expect(identityValues(deletion, ["user_id", "anonymous_id"])).toEqual([
			"a-1",
			"u-1",
			"a-2",
		]);
		expect(identityValues(deletion, ["device_id"])).toEqual([]);
	});

	it("inParts sends parts in order and stops at the first part that is not ok", async () => {
		const sent: string[][] = [];
		const answers: Verdict[] = [
			{ outcome: "ok", status: 200 },
			{ outcome: "retry-later", status: 429, error: "HTTP 429" },
			{ outcome: "ok", status: 200 },
		];
		const verdict = await inParts(
			["a", "b", "c", "d", "e"],
			2,
			async (part) => {
				sent.push(part);
				return answers[sent.length - 1] as Verdict;
			},
		);
		expect(sent).toEqual([
			["a", "b"],
			["c", "d"],
		]);
		expect(verdict).toEqual({
			outcome: "retry-later",
			status: 429,
			error: "HTTP 429",
		});
	});

	it("inParts answers with the last part's verdict when all are ok", async () => {
		let calls = 0;
		const verdict = await inParts(["a", "b", "c"], 2, async () => {
			calls += 1;
			return { outcome: "ok", status: 200 + calls };
		});
		expect(calls).toBe(2);
		expect(verdict).toEqual({ outcome: "ok", status: 202 });
	});

	it("deleteByIds drops, sending nothing, when the profile has none of the ids", async () => {
		let calls = 0;
		const verdict = await deleteByIds(
			deletion,
			{ types: ["device_id"], perRequest: 10, none: "no device id" },
			async () => {
				calls += 1;
				return { outcome: "ok" };
			},
		);
		expect(calls).toBe(0);
		expect(verdict).toEqual({ outcome: "dropped", error: "no device id" });
	});
});
