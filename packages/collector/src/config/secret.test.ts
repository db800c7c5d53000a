import { describe, expect, it } from "vitest";
import { MissingSecretError, resolveSecret, secretNames } from "./secret";

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
