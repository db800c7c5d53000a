import * as v from "valibot";
import { describe, expect, it } from "vitest";
import type { EnrichedEvent } from "../event";
import { applyMapping, MappingSchema, sha256Hex } from "./mapping";

const event: EnrichedEvent = {
	type: "track",
	event: "Order Completed",
	messageId: "m1",
	userId: "u1",
	timestamp: "2026-11-01T08:00:00.000Z",
	receivedAt: "2026-11-01T08:00:01.000Z",
	properties: { revenue: 12, coupon: "X" },
	traits: { email: "  Ada@Example.COM ", phone: "+49 30 1234" },
	context: { ip: "203.0.113.0", page: { url: "https://shop.example.com/" } },
};

describe("applyMapping", () => {
	it("renames an event only by the table's own keys: toString, __proto__, constructor stay (finding 9)", async () => {
		const names = [
			"toString",
			"__proto__",
			"constructor",
			"hasOwnProperty",
			"valueOf",
		];
		const mapping = v.parse(MappingSchema, {
			events: { "Order Completed": "purchase" },
		});
		for (const name of names) {
			const mapped = await applyMapping({ ...event, event: name }, mapping);
			expect(mapped.event, name).toBe(name);
		}
	});

	it("renames prototype-named events and keys when the document names them", async () => {
		// As the config arrives from KV: JSON.parse makes "__proto__" an ordinary key.
		const mapping = v.parse(
			MappingSchema,
			JSON.parse(
				'{"events": {"__proto__": "proto_event", "constructor": "ctor", "toString": "to_string"}, "properties": {"coupon": "__proto__"}}',
			),
		);
		for (const [name, renamed] of [
			["__proto__", "proto_event"],
			["constructor", "ctor"],
			["toString", "to_string"],
		])
			expect(
				(await applyMapping({ ...event, event: name }, mapping)).event,
			).toBe(renamed);
		const mapped = await applyMapping(event, mapping);
		// An own key, not the copy's prototype.
		expect(Object.hasOwn(mapped.properties ?? {}, "__proto__")).toBe(true);
		expect(Object.getPrototypeOf(mapped.properties)).toBe(Object.prototype);
		expect(JSON.stringify(mapped.properties)).toBe(
			'{"revenue":12,"__proto__":"X"}',
		);
	});

	it("renames events and properties", async () => {
		const mapped = await applyMapping(event, {
			events: { "Order Completed": "purchase" },
			properties: { revenue: "value" },
		});
		expect(mapped.event).toBe("purchase");
		expect(mapped.properties).toEqual({ value: 12, coupon: "X" });
	});

	it("hashes identifiers with SHA-256 after trimming and lower-casing", async () => {
		const mapped = await applyMapping(event, {
			hash: ["traits.email", "userId"],
		});
		expect(mapped.traits?.email).toBe(await sha256Hex("ada@example.com"));
		expect(mapped.userId).toBe(await sha256Hex("u1"));
		expect(await sha256Hex("abc")).toBe(
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		);
	});

	it("drops fields such as PII, at any depth, and ignores paths that are not there", async () => {
		const mapped = await applyMapping(event, {
			drop: ["context.ip", "traits.phone", "properties.nothing.here"],
		});
		expect(mapped.context).toEqual({
			page: { url: "https://shop.example.com/" },
		});
		expect(mapped.traits).toEqual({ email: "  Ada@Example.COM " });
	});

	it("never changes the stored event", async () => {
		const before = structuredClone(event);
		await applyMapping(event, {
			events: { "Order Completed": "x" },
			hash: ["traits.email"],
			drop: ["context.ip"],
		});
		expect(event).toEqual(before);
	});
});
