import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IdentityCache } from "./cache";
import { Lru } from "./lru";

describe("IdentityCache", () => {
	it("serves from memory first, then KV, and remembers KV hits in memory", async () => {
		const kv = env.IDENTITY_CACHE;
		await kv.put("identity:user_id:kv-only", "prof_kv");
		const cache = new IdentityCache(new Lru(10), new Lru(10), kv);
		cache.identities.set("identity:user_id:memory", "prof_mem");

		const first = await cache.lookup([
			"identity:user_id:memory",
			"identity:user_id:kv-only",
			"identity:user_id:nowhere",
		]);
		expect(first.hints).toEqual(
			new Map([
				["identity:user_id:memory", "prof_mem"],
				["identity:user_id:kv-only", "prof_kv"],
			]),
		);
		expect([first.fromMemory, first.fromKv]).toEqual([1, 1]);
		expect(cache.identities.get("identity:user_id:kv-only")).toBe("prof_kv");
	});

	it("writes through to KV and forgets from both", async () => {
		const kv = env.IDENTITY_CACHE;
		const cache = new IdentityCache(new Lru(10), new Lru(10), kv);
		await cache.remember(new Map([["identity:email:a@b.c", "prof_1"]]));
		expect(await kv.get("identity:email:a@b.c")).toBe("prof_1");

		cache.profileCounts.set("prof_1", { user_id: 1 });
		await cache.forget(["identity:email:a@b.c"], ["prof_1"], { kv: true });
		expect(cache.identities.get("identity:email:a@b.c")).toBeUndefined();
		expect(cache.profileCounts.get("prof_1")).toBeUndefined();
		expect(await kv.get("identity:email:a@b.c")).toBeNull();
	});

	it("keeps keys too long for KV in memory only", async () => {
		const cache = new IdentityCache(
			new Lru(10),
			new Lru(10),
			env.IDENTITY_CACHE,
		);
		const long = `identity:email:${"x".repeat(600)}`;
		await cache.remember(new Map([[long, "prof_2"]]));
		expect(cache.identities.get(long)).toBe("prof_2");
		const fresh = new IdentityCache(
			new Lru(10),
			new Lru(10),
			env.IDENTITY_CACHE,
		);
		expect((await fresh.lookup([long])).hints.size).toBe(0);
	});
});
