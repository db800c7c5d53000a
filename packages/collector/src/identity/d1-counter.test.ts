import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countingD1 } from "./d1-counter";

describe("countingD1", () => {
	it("counts each round trip to the real database, a batch as one", async () => {
		const d1 = countingD1(env.DB);
		const { db } = d1;
		const [one, two] = await db.batch<{ n: number }>([
			db.prepare("SELECT ?1 AS n").bind(1),
			db.prepare("SELECT ?1 AS n").bind(2),
		]);
		expect([one?.results[0]?.n, two?.results[0]?.n]).toEqual([1, 2]);
		expect(d1.calls).toBe(1);
		expect(await db.prepare("SELECT 3 AS n").first("n")).toBe(3);
		await db.prepare("SELECT 4").all();
		await db.prepare("SELECT 5").run();
		await db.prepare("SELECT 6").raw();
		await db.exec("SELECT 7");
		expect(d1.calls).toBe(6);
	});

	it("refuses sessions, which it could not count", () => {
		expect(() => countingD1(env.DB).db.withSession()).toThrow(Error);
	});
});
