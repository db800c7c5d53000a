import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chunksOf, meterEnv } from "./usage";

describe("chunksOf", () => {
	it("weighs a message in 64 KB chunks, metadata included", () => {
		expect(chunksOf("x")).toBe(1);
		expect(chunksOf("x".repeat(63_900))).toBe(1);
		expect(chunksOf("x".repeat(64_000))).toBe(2);
		expect(chunksOf({ items: ["x".repeat(130_000)] })).toBe(3);
	});
});

describe("meterEnv", () => {
	it("counts D1 rows per table and R2 calls per billing class, and leaves results unchanged", async () => {
		const metered = meterEnv(env);
		const bucket = metered.env.ARCHIVE;
		await bucket.put("usage-test/a", "hello");
		expect(await (await bucket.get("usage-test/a"))?.text()).toBe("hello");
		expect((await bucket.head("usage-test/a"))?.size).toBe(5);
		expect(
			(await bucket.list({ prefix: "usage-test/" })).objects.map((o) => o.key),
		).toEqual(["usage-test/a"]);
		await bucket.delete("usage-test/a");
		const row = await metered.env.DB.prepare(
			"SELECT count(*) AS n FROM profiles",
		).first<{ n: number }>();
		expect(row).toEqual({ n: 0 });

		const line = metered.line({
			queue: "conduit-events",
			messages: [{ body: "x".repeat(70_000) }, { body: "y" }],
		} as unknown as MessageBatch<unknown>);
		expect(line.r2.ARCHIVE).toEqual({ classA: 3, classB: 2 });
		expect(line.d1.profiles?.statements).toBe(1);
		expect(line).toMatchObject({
			msg: "usage",
			queue: "conduit-events",
			messages: 2,
			queueChunks: 3,
		});
	});
});
