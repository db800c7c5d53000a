import { createHmac, timingSafeEqual } from "node:crypto";
import { checker, type VendorHandler } from "./mock-server";
import { TEST_SECRETS } from "./secrets";

/** Standard Webhooks: a receiver rejects messages older or newer than this (the spec's default). */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * A webhook receiver that verifies the Standard Webhooks headers the way the reference
 * libraries do: webhook-id, webhook-timestamp within tolerance, and at least one `v1,`
 * signature in webhook-signature that matches a known secret. Answers 200, or 401 when the
 * signature does not verify.
 *
 * @example
 * await startMockServer(webhookReceiver);
 */
export const webhookReceiver: VendorHandler = (request) => {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(
		request.headers["content-type"] === "application/json",
		"content-type must be application/json",
	);
	const id = request.headers["webhook-id"];
	const timestamp = request.headers["webhook-timestamp"];
	const signatures = request.headers["webhook-signature"];
	check(id, "webhook-id is missing");
	check(
		timestamp && /^\d+$/.test(timestamp),
		"webhook-timestamp must be integer seconds",
	);
	check(
		Math.abs(Date.now() / 1000 - Number(timestamp)) <= TOLERANCE_SECONDS,
		"webhook-timestamp is outside the tolerance",
	);
	if (signatures !== undefined) {
		const content = `${id}.${timestamp}.${request.text}`;
		const expected = [
			TEST_SECRETS.WEBHOOK_SECRET,
			TEST_SECRETS.WEBHOOK_SECRET_NEXT,
		].map((secret) =>
			createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
				.update(content)
				.digest(),
		);
		const valid = signatures.split(" ").some((part) => {
			const [version, signature] = part.split(",");
			if (version !== "v1" || !signature) return false;
			const given = Buffer.from(signature, "base64");
			return expected.some(
				(mac) => mac.length === given.length && timingSafeEqual(mac, given),
			);
		});
		check(valid, "no webhook-signature verifies");
	}
	const body = request.json as
		| { type?: unknown; timestamp?: unknown; data?: unknown }
		| undefined;
	check(
		body &&
			typeof body.type === "string" &&
			typeof body.timestamp === "string" &&
			typeof body.data === "object",
		"payload must be { type, timestamp, data }",
	);
	if (violations.length > 0)
		return { violations, status: 401, body: { error: violations.join("; ") } };
	return { violations, status: 200, body: { ok: true } };
};
