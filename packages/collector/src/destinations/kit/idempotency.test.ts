import { describe, expect, it } from "vitest";
import { batchKey, insertId, uuidFor } from "./idempotency";

describe("idempotency keys", () => {
	it("are the same for the same event every time, and differ between events and sources", async () => {
		const a = await insertId("web", "msg_1");
		expect(await insertId("web", "msg_1")).toBe(a);
		expect(await insertId("web", "msg_2")).not.toBe(a);
		expect(await insertId("app", "msg_1")).not.toBe(a);
	});

	it("fit Mixpanel's $insert_id rules (≤ 36 letters, digits or '-')", async () => {
		expect(
			await insertId("web", "msg with spaces and ünïcode €".repeat(10)),
		).toMatch(/^[A-Za-z0-9-]{1,36}$/);
	});

	it("give PostHog a well-formed RFC 9562 version-8 UUID", async () => {
		const uuid = await uuidFor("web", "msg_1");
		expect(uuid).toMatch(
			/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
		);
		expect(await uuidFor("web", "msg_1")).toBe(uuid);
	});

	it("key a batch by its events in order", async () => {
		const key = await batchKey("msg_", [
			["web", "a"],
			["web", "b"],
		]);
		expect(key).toMatch(/^msg_[0-9a-f]{32}$/);
		expect(
			await batchKey("msg_", [
				["web", "a"],
				["web", "b"],
			]),
		).toBe(key);
		expect(
			await batchKey("msg_", [
				["web", "b"],
				["web", "a"],
			]),
		).not.toBe(key);
	});
});
