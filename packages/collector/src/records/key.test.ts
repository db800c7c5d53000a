import { describe, expect, it } from "vitest";
import { compareCodeUnits, recordKey, recordPartition } from "./key";

describe("recordPartition", () => {
	it("partitions by source and the UTC date and hour of receivedAt", () => {
		expect(recordPartition("web", "2026-11-01T08:15:00.000Z")).toBe(
			"source=web/dt=2026-11-01/hour=08",
		);
		expect(recordPartition("server-1", "2026-12-31T23:59:59.999Z")).toBe(
			"source=server-1/dt=2026-12-31/hour=23",
		);
	});
});

describe("recordKey", () => {
	const partition = "source=web/dt=2026-11-01/hour=08";

	it("names the object by its events, whatever their order", async () => {
		const key = await recordKey(partition, [
			["web", "m2"],
			["web", "m1"],
		]);
		expect(key).toMatch(
			/^events\/source=web\/dt=2026-11-01\/hour=08\/[0-9a-f]{32}\.parquet$/,
		);
		expect(
			await recordKey(partition, [
				["web", "m1"],
				["web", "m2"],
			]),
		).toBe(key);
	});

	it("gives other events, or the same ids of another source, another name", async () => {
		const key = await recordKey(partition, [
			["web", "m1"],
			["web", "m2"],
		]);
		expect(await recordKey(partition, [["web", "m1"]])).not.toBe(key);
		expect(
			await recordKey(partition, [
				["app", "m1"],
				["app", "m2"],
			]),
		).not.toBe(key);
	});

	it("takes another prefix", async () => {
		expect(await recordKey(partition, [["web", "m1"]], "test/")).toMatch(
			/^test\/source=web\//,
		);
	});
});

describe("compareCodeUnits", () => {
	it("orders by code unit, not by locale", () => {
		expect(["b", "B", "a", "é"].sort(compareCodeUnits)).toEqual([
			"B",
			"a",
			"b",
			"é",
		]);
	});
});
