import { checker, type VendorHandler } from "./mock-server";
import { TEST_PUBLIC } from "./secrets";

const UUID =
	/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * PostHog's batch capture `POST /batch/`: `{ api_key, batch: [{ event, properties.distinct_id,
 * timestamp, uuid }] }`. Answers 200 `{status: 1}`, 401 for an unknown project key and 400 with
 * PostHog's `{type, code, detail}` for an invalid payload.
 *
 * @example
 * await startMockServer(posthogCapture);
 */
export const posthogCapture: VendorHandler = (request) => {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(request.path === "/batch/", `unknown path ${request.path}`);
	check(
		request.headers["content-type"] === "application/json",
		"content-type must be application/json",
	);
	const body = request.json as
		| { api_key?: unknown; batch?: unknown }
		| undefined;
	if (body?.api_key !== TEST_PUBLIC.posthogApiKey)
		return {
			violations: ["api_key wrong"],
			status: 401,
			body: {
				type: "authentication_error",
				code: "invalid_api_key",
				detail: "Project API key invalid.",
			},
		};
	if (
		check(
			Array.isArray(body.batch) && body.batch.length > 0,
			"batch must be a non-empty array",
		)
	)
		(
			body.batch as {
				event?: unknown;
				properties?: Record<string, unknown>;
				timestamp?: unknown;
				uuid?: unknown;
			}[]
		).forEach((e, i) => {
			check(
				typeof e.event === "string" && e.event !== "",
				`batch[${i}].event missing`,
			);
			check(
				typeof e.properties?.distinct_id === "string" &&
					e.properties.distinct_id !== "",
				`batch[${i}].properties.distinct_id missing`,
			);
			check(
				typeof e.timestamp === "string" &&
					!Number.isNaN(Date.parse(e.timestamp)),
				`batch[${i}].timestamp invalid`,
			);
			check(
				typeof e.uuid === "string" && UUID.test(e.uuid),
				`batch[${i}].uuid must be a UUID`,
			);
		});
	if (violations.length > 0)
		return {
			violations,
			status: 400,
			body: {
				type: "validation_error",
				code: "invalid_payload",
				detail: violations.join("; "),
			},
		};
	return { violations, status: 200, body: { status: 1 } };
};
