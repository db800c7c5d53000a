import {
	checker,
	type VendorAnswer,
	type VendorHandler,
	type VendorRequest,
} from "./mock-server";
import { TEST_PUBLIC, TEST_SECRETS } from "./secrets";

const UUID =
	/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * PostHog's batch capture `POST /batch/`: `{ api_key, batch: [{ event, properties.distinct_id,
 * timestamp, uuid }] }`. Answers 200 `{status: 1}`, 401 for an unknown project key and 400 with
 * PostHog's `{type, code, detail}` for an invalid payload. Also the private API's persons
 * bulk delete (see `bulkDelete`).
 *
 * @example
 * await startMockServer(posthogCapture);
 */
export const posthogCapture: VendorHandler = (request) => {
	if (request.path.startsWith("/api/projects/")) return bulkDelete(request);
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

/**
 * The private API's `POST /api/projects/{project_id}/persons/bulk_delete/`: Bearer personal API
 * key, a JSON body with `ids` or `distinct_ids` (1–1,000 strings) and optional booleans
 * `delete_events`, `delete_recordings`, `keep_person`. Answers 202 with an empty object (any
 * 2xx counts as done), 401 on a bad key, 404 for another project, 400 on a bad body.
 */
function bulkDelete(request: VendorRequest): VendorAnswer {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(
		request.headers["content-type"]?.startsWith("application/json"),
		"content-type must be JSON",
	);
	if (
		request.headers.authorization !==
		`Bearer ${TEST_SECRETS.POSTHOG_PERSONAL_API_KEY}`
	)
		return {
			violations: ["Bearer personal API key missing or wrong"],
			status: 401,
			body: {
				type: "authentication_error",
				code: "authentication_failed",
				detail: "Personal API key is invalid.",
			},
		};
	if (
		request.path !==
		`/api/projects/${TEST_PUBLIC.posthogProjectId}/persons/bulk_delete/`
	)
		return {
			violations: [`unknown path ${request.path}`],
			status: 404,
			body: {
				type: "invalid_request",
				code: "not_found",
				detail: "Not found.",
			},
		};
	const body = (request.json ?? {}) as Record<string, unknown>;
	const known = [
		"ids",
		"distinct_ids",
		"delete_events",
		"delete_recordings",
		"keep_person",
	];
	for (const key of Object.keys(body))
		check(known.includes(key), `unknown field ${key}`);
	const ids = body.distinct_ids ?? body.ids;
	check(
		(body.distinct_ids === undefined) !== (body.ids === undefined),
		"send ids or distinct_ids",
	);
	check(
		Array.isArray(ids) &&
			ids.length >= 1 &&
			ids.length <= 1000 &&
			ids.every((id) => typeof id === "string" && id !== ""),
		"1–1,000 non-empty string ids",
	);
	for (const flag of ["delete_events", "delete_recordings", "keep_person"])
		check(
			body[flag] === undefined || typeof body[flag] === "boolean",
			`${flag} must be a boolean`,
		);
	if (violations.length > 0)
		return {
			violations,
			status: 400,
			body: {
				type: "validation_error",
				code: "invalid_input",
				detail: violations.join("; "),
			},
		};
	return { violations, status: 202, body: {} };
}
