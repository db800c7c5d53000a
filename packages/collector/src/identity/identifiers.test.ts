import type { WireEvent } from "@conduit/protocol";
import { describe, expect, it } from "vitest";
import { identifiersOf, identityKey, personTraits } from "./identifiers";
import { identitySettings } from "./settings";

const rules = identitySettings(undefined);

describe("identifiersOf", () => {
	it("reads userId, anonymousId and the email trait, in priority order", () => {
		const event: WireEvent = {
			type: "identify",
			userId: " u1 ",
			anonymousId: "anon-1",
			traits: { email: "  Ann@Example.COM ", name: "Ann" },
		};
		expect(identifiersOf(event, rules)).toEqual({
			identifiers: [
				{ type: "user_id", value: "u1" },
				{ type: "anonymous_id", value: "anon-1" },
				{ type: "email", value: "ann@example.com" },
			],
		});
	});

	it("never uses blocked values, whatever their case, nor numbers that are blocked", () => {
		for (const blocked of [
			"",
			"  ",
			"null",
			"NULL",
			"undefined",
			"Anonymous",
			"GUEST",
			"unknown",
			"0",
			"-1",
		]) {
			const event: WireEvent = {
				type: "identify",
				userId: blocked,
				anonymousId: blocked,
				traits: { email: blocked },
			};
			expect(identifiersOf(event, rules).identifiers, blocked).toEqual([]);
		}
		expect(
			identifiersOf(
				{ type: "track", event: "A", userId: 0 as unknown as string },
				rules,
			).identifiers,
		).toEqual([]);
	});

	it("applies a source's own blocked values and trait identifiers", () => {
		const custom = identitySettings({
			traitIdentifiers: ["email", "phone"],
			blockedValues: ["test@example.com"],
		});
		const event: WireEvent = {
			type: "identify",
			userId: "u1",
			traits: { email: "TEST@example.com", phone: 4915100000 },
		};
		expect(identifiersOf(event, custom).identifiers).toEqual([
			{ type: "user_id", value: "u1" },
			{ type: "phone", value: "4915100000" },
		]);
	});

	it("ignores values over the length limit instead of cutting them", () => {
		const short = identitySettings({ maxValueLength: 8 });
		const event: WireEvent = {
			type: "page",
			userId: "123456789",
			anonymousId: "12345678",
		};
		expect(identifiersOf(event, short).identifiers).toEqual([
			{ type: "anonymous_id", value: "12345678" },
		]);
	});

	it("takes traits from context.traits on other calls, but not a group's own traits", () => {
		expect(
			identifiersOf(
				{
					type: "track",
					event: "A",
					anonymousId: "a",
					context: { traits: { email: "x@y.z" } },
				},
				rules,
			).identifiers,
		).toContainEqual({ type: "email", value: "x@y.z" });
		expect(
			identifiersOf(
				{
					type: "group",
					groupId: "g",
					anonymousId: "a",
					traits: { email: "org@y.z" },
				},
				rules,
			).identifiers,
		).toEqual([{ type: "anonymous_id", value: "a" }]);
	});

	it("keeps an alias call's previousId apart, since the graph decides its type", () => {
		expect(
			identifiersOf({ type: "alias", userId: "u2", previousId: "u1" }, rules),
		).toEqual({
			identifiers: [{ type: "user_id", value: "u2" }],
			previousId: "u1",
		});
		expect(
			identifiersOf(
				{ type: "alias", userId: "u2", previousId: "guest" },
				rules,
			),
		).toEqual({ identifiers: [{ type: "user_id", value: "u2" }] });
		expect(
			identifiersOf({ type: "alias", userId: "u2", previousId: "u2" }, rules)
				.previousId,
		).toBeUndefined();
	});
});

describe("personTraits", () => {
	it("is an identify call's traits, else context.traits", () => {
		expect(personTraits({ type: "identify", traits: { a: 1 } })).toEqual({
			a: 1,
		});
		expect(
			personTraits({ type: "page", context: { traits: { b: 2 } } }),
		).toEqual({ b: 2 });
		expect(personTraits({ type: "page" })).toBeUndefined();
	});
});

describe("identityKey", () => {
	it("is unambiguous even when the value contains ':'", () => {
		expect(identityKey({ type: "email", value: "a:b@c" })).toBe(
			"identity:email:a:b@c",
		);
		expect(identityKey({ type: "user_id", value: "email:a" })).not.toBe(
			identityKey({ type: "email", value: "a" }),
		);
	});
});
