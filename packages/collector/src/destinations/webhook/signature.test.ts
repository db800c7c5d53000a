import { describe, expect, it } from "vitest";
import { isWebhookSecret, signWebhook } from "./signature";

// The test vector published with the Standard Webhooks reference libraries.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';

describe("signWebhook", () => {
	it("matches the Standard Webhooks reference signature", async () => {
		expect(await signWebhook([SECRET], ID, TIMESTAMP, BODY)).toBe(
			"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		);
	});

	it("signs with every secret during rotation, space-separated", async () => {
		const other = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
		const header = await signWebhook([SECRET, other], ID, TIMESTAMP, BODY);
		const parts = header.split(" ");
		expect(parts).toHaveLength(2);
		expect(parts[0]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
		expect(parts[1]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
		expect(parts[1]).not.toBe(parts[0]);
	});

	it("refuses a secret without the whsec_ prefix", async () => {
		expect(isWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBe(false);
		await expect(signWebhook(["plain"], ID, TIMESTAMP, BODY)).rejects.toThrow(
			/whsec_/,
		);
	});
});
