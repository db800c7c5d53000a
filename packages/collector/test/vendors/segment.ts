import { basicCredentials, checker, type VendorHandler } from "./mock-server";
import { TEST_SECRETS } from "./secrets";

/**
 * Segment's HTTP Tracking API `/v1/batch` (Basic auth with the write key as username; at most
 * 500 KB a request and 32 KB an event; every event needs a type and a userId or anonymousId)
 * and the Public API's `POST /regulations` (Bearer token) for deletions.
 *
 * @example
 * await startMockServer(segmentApi);
 */
export const segmentApi: VendorHandler = (request) => {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(
		request.headers["content-type"]?.startsWith("application/json"),
		"content-type must be JSON",
	);
	if (request.path === "/regulations") {
		check(
			request.headers.authorization ===
				`Bearer ${TEST_SECRETS.SEGMENT_API_TOKEN}`,
			"bad bearer token",
		);
		const body = request.json as {
			regulationType?: unknown;
			subjectType?: unknown;
			subjectIds?: unknown;
		};
		check(body?.regulationType === "SUPPRESS_WITH_DELETE", "regulationType");
		check(body?.subjectType === "USER_ID", "subjectType must be USER_ID");
		check(
			Array.isArray(body?.subjectIds) && body.subjectIds.length > 0,
			"subjectIds must be a non-empty array",
		);
		if (violations.length > 0)
			return {
				violations,
				status: 400,
				body: { errors: [{ message: violations.join("; ") }] },
			};
		return {
			violations,
			status: 200,
			body: { data: { regulateId: `reg_${Date.now()}` } },
		};
	}
	check(request.path === "/v1/batch", `unknown path ${request.path}`);
	const credentials = basicCredentials(request.headers);
	if (!credentials || credentials[0] !== TEST_SECRETS.SEGMENT_WRITE_KEY)
		return {
			violations: ["write key missing or wrong"],
			status: 401,
			body: { success: false, message: "Invalid write key" },
		};
	check(Buffer.byteLength(request.text) <= 500 * 1024, "request over 500 KB");
	const batch = (request.json as { batch?: unknown })?.batch;
	if (
		check(
			Array.isArray(batch) && batch.length > 0,
			"batch must be a non-empty array",
		)
	)
		(batch as Record<string, unknown>[]).forEach((event, i) => {
			check(typeof event.type === "string", `batch[${i}].type missing`);
			check(
				typeof event.messageId === "string",
				`batch[${i}].messageId missing`,
			);
			check(
				event.userId || event.anonymousId,
				`batch[${i}] needs userId or anonymousId`,
			);
			check(
				Buffer.byteLength(JSON.stringify(event)) <= 32 * 1024,
				`batch[${i}] over 32 KB`,
			);
		});
	if (violations.length > 0)
		return {
			violations,
			status: 400,
			body: { success: false, message: violations.join("; ") },
		};
	return { violations, status: 200, body: { success: true } };
};
