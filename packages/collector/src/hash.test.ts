import { describe, expect, it } from "vitest";
import { batchKey, hash64, hex } from "./hash";

describe("hash64", () => {
	it("reads the first 8 bytes of SHA-256 as a signed 64-bit integer, in decimal", async () => {
		// sha256("web\nm1") starts with f71e…: negative as a signed integer.
		expect(await hash64("web\nm1")).toBe("-639845896319181009");
		const value = BigInt(await hash64("another"));
		expect(value >= -(2n ** 63n) && value < 2n ** 63n).toBe(true);
	});
});

describe("batchKey and hex", () => {
	it("names a list of pairs by 128 bits of SHA-256, in order", async () => {
		const key = await batchKey("msg_", [
			["web", "m1"],
			["web", "m2"],
		]);
		expect(key).toMatch(/^msg_[0-9a-f]{32}$/);
		expect(
			await batchKey("msg_", [
				["web", "m2"],
				["web", "m1"],
			]),
		).not.toBe(key);
		expect(hex(new Uint8Array([1, 255]))).toBe("01ff");
	});
});
