import { describe, expect, it } from "vitest";
import { createSession, readSession, SESSION_SECONDS } from "./session";

const TOKEN = "session-test-admin-token-0123456789abcdef";

describe("console sessions", () => {
	it("reads back a session it created, with the same CSRF token, until it expires", async () => {
		const now = Date.UTC(2026, 11, 1, 12);
		const { value, session } = await createSession(TOKEN, now);
		expect(value).not.toContain(TOKEN);
		expect(await readSession(TOKEN, value, now + 1000)).toEqual(session);
		expect(session.expiresAt).toBe(now + SESSION_SECONDS * 1000);
		expect(await readSession(TOKEN, value, session.expiresAt)).toBeUndefined();
	});

	it("refuses a cookie signed with another token, a changed expiry or garbage", async () => {
		const now = Date.now();
		const { value } = await createSession(TOKEN, now);
		const [expiry, nonce, signature] = value.split(".") as [
			string,
			string,
			string,
		];
		expect(await readSession(`${TOKEN}x`, value, now)).toBeUndefined();
		expect(
			await readSession(
				TOKEN,
				`${Number(expiry) + 1}.${nonce}.${signature}`,
				now,
			),
		).toBeUndefined();
		for (const bad of [undefined, "", "x.y.z", `${expiry}.${nonce}`])
			expect(await readSession(TOKEN, bad, now)).toBeUndefined();
	});

	it("gives every session its own CSRF token", async () => {
		const a = await createSession(TOKEN, Date.now());
		const b = await createSession(TOKEN, Date.now());
		expect(a.session.csrf).not.toBe(b.session.csrf);
	});
});
