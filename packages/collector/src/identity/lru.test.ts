import { describe, expect, it } from "vitest";
import { Lru } from "./lru";

describe("Lru", () => {
	it("evicts the least recently used entry when full", () => {
		const lru = new Lru<string>(2);
		lru.set("a", "1");
		lru.set("b", "2");
		expect(lru.get("a")).toBe("1");
		lru.set("c", "3");
		expect(lru.get("b")).toBeUndefined();
		expect(lru.get("a")).toBe("1");
		expect(lru.get("c")).toBe("3");
		expect(lru.size).toBe(2);
	});

	it("replaces, deletes and clears", () => {
		const lru = new Lru<number>(3);
		lru.set("a", 1);
		lru.set("a", 2);
		expect(lru.get("a")).toBe(2);
		expect(lru.size).toBe(1);
		lru.delete("a");
		expect(lru.get("a")).toBeUndefined();
		lru.set("b", 1);
		lru.clear();
		expect(lru.size).toBe(0);
	});

	it("refuses a size that holds nothing", () => {
		expect(() => new Lru(0)).toThrow(Error);
	});
});
