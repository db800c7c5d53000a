import { describe, expect, it } from "vitest";
import {
	MissingSecretError,
	RefusedSecretError,
	reservedSecret,
	resolveSecret,
	secretNames,
} from "./secret";

describe("secrets", () => {
	it("resolves a reference from the Worker env", () => {
		expect(
			resolveSecret(
				{ MIXPANEL_SECRET: "s3cr3t" },
				{ secret: "MIXPANEL_SECRET" },
			),
		).toBe("s3cr3t");
	});

	it("fails clearly when the secret is missing or empty", () => {
		expect(() => resolveSecret({}, { secret: "MIXPANEL_SECRET" })).toThrow(
			MissingSecretError,
		);
		expect(() =>
			resolveSecret({ MIXPANEL_SECRET: "" }, { secret: "MIXPANEL_SECRET" }),
		).toThrow("Worker secret 'MIXPANEL_SECRET' is not set");
	});

	it("refuses, at send time, names destinations may not read, even when they are set (finding 9)", () => {
		const env = {
			ADMIN_TOKEN: "a-production-token-with-enough-characters",
			CONFIG_CACHE_SECONDS: "30",
			CLOUDFLARE_API_TOKEN: "cf-token",
			DB: { prepare() {} },
			SOME_BINDING: { send() {} },
		};
		for (const name of [
			"ADMIN_TOKEN",
			"CONFIG_CACHE_SECONDS",
			"CLOUDFLARE_API_TOKEN",
			"DB",
		]) {
			const attempt = () => resolveSecret(env, { secret: name });
			expect(attempt, name).toThrow(RefusedSecretError);
			expect(attempt, name).toThrow(
				`Worker env '${name}' is ${reservedSecret(name)}: destinations may not read it`,
			);
		}
		// A binding that is not on the list is refused for what it is.
		expect(() => resolveSecret(env, { secret: "SOME_BINDING" })).toThrow(
			"Worker env 'SOME_BINDING' is a binding, not a secret: destinations may not read it",
		);
		// The delivery treats it like a missing secret: failed for good, no retries.
		expect(() => resolveSecret(env, { secret: "ADMIN_TOKEN" })).toThrow(
			MissingSecretError,
		);
	});

	it("lists every referenced name", () => {
		expect(
			secretNames({
				a: { secret: "X" },
				b: [{ secret: "Y" }, { secret: "X" }],
				c: { secret: "Z", other: 1 },
			}),
		).toEqual(["X", "Y"]);
	});
});
