import {
	basicCredentials,
	checker,
	type VendorAnswer,
	type VendorHandler,
	type VendorRequest,
} from "./mock-server";
import { TEST_PUBLIC, TEST_SECRETS } from "./secrets";

const HOUR_MS = 3600 * 1000;

/**
 * Mixpanel's `/import` (strict=1; service-account Basic auth with project_id; JSON array of at
 * most 2,000 events and 10 MB; each with event, properties.time, distinct_id and a valid
 * $insert_id) answering like Mixpanel: 200 `{code, num_records_imported, status}`, or in strict
 * mode 400 with `failed_records` naming each invalid event while importing the rest — and
 * `/engage` profile updates (verbose=1 → `{status, error}`) — and the GDPR API's deletion
 * requests (see `dataDeletion`).
 *
 * @example
 * await startMockServer(mixpanelApi);
 */
export const mixpanelApi: VendorHandler = (request) => {
	if (request.path === "/engage") return engage(request.json, request.query);
	if (request.path === "/api/app/data-deletions/v3.0/")
		return dataDeletion(request);
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(request.path === "/import", `unknown path ${request.path}`);
	check(request.query.get("strict") === "1", "strict=1 is expected");
	check(
		request.query.get("project_id") === TEST_PUBLIC.mixpanelProjectId,
		"project_id",
	);
	check(
		request.headers["content-type"] === "application/json",
		"content-type must be application/json",
	);
	const credentials = basicCredentials(request.headers);
	if (
		!credentials ||
		credentials[0] !== TEST_PUBLIC.mixpanelUsername ||
		credentials[1] !== TEST_SECRETS.MIXPANEL_SECRET
	)
		return {
			violations: ["service account credentials wrong"],
			status: 401,
			body: { code: 401, error: "Invalid credentials", status: "error" },
		};
	if (Buffer.byteLength(request.text) > 10 * 1024 * 1024)
		return {
			violations,
			status: 413,
			body: { code: 413, error: "request too large", status: "error" },
		};
	const records = request.json;
	if (
		!check(
			Array.isArray(records) && records.length >= 1 && records.length <= 2000,
			"body must be an array of 1–2000 events",
		)
	)
		return {
			violations,
			status: 400,
			body: { code: 400, error: "invalid body", status: "Bad Request" },
		};
	const failed: {
		index: number;
		insert_id?: string;
		field: string;
		message: string;
	}[] = [];
	(
		records as { event?: unknown; properties?: Record<string, unknown> }[]
	).forEach((record, index) => {
		const p = record.properties ?? {};
		const insertId =
			typeof p.$insert_id === "string" ? p.$insert_id : undefined;
		const fail = (field: string, message: string) =>
			failed.push({ index, insert_id: insertId, field, message });
		if (typeof record.event !== "string" || record.event === "")
			fail("event", "'event' must be a non-empty string");
		else if (
			typeof p.time !== "number" ||
			p.time < Date.UTC(1971, 0, 1) ||
			p.time > Date.now() + HOUR_MS
		)
			fail(
				"properties.time",
				"'properties.time' is invalid: must be in the past, after 1971, in milliseconds",
			);
		else if (typeof p.distinct_id !== "string")
			fail(
				"properties.distinct_id",
				"'properties.distinct_id' must be a string",
			);
		else if (!insertId || !/^[A-Za-z0-9-]{1,36}$/.test(insertId))
			fail(
				"properties.$insert_id",
				"'properties.$insert_id' must be 1–36 alphanumeric characters or '-'",
			);
	});
	// Invalid records are the vendor refusing data, not our request breaking the contract.
	if (failed.length > 0)
		return strictFailure(violations, failed, (records as unknown[]).length);
	return {
		violations,
		status: 200,
		body: {
			code: 200,
			num_records_imported: (records as unknown[]).length,
			status: "OK",
		},
	};
};

function strictFailure(
	violations: string[],
	failed: { index: number }[],
	total: number,
): VendorAnswer {
	return {
		violations,
		status: 400,
		body: {
			code: 400,
			error: "some data points in the request failed validation",
			failed_records: failed,
			num_records_imported: total - failed.length,
			status: "Bad Request",
		},
	};
}

function engage(body: unknown, query: URLSearchParams): VendorAnswer {
	const { violations, check } = checker();
	check(query.get("verbose") === "1", "verbose=1 is expected");
	if (
		check(
			Array.isArray(body) && body.length >= 1 && body.length <= 2000,
			"engage body must be an array of 1–2000 updates",
		)
	)
		(body as Record<string, unknown>[]).forEach((update, i) => {
			check(
				update.$token === TEST_PUBLIC.mixpanelProjectToken,
				`[${i}].$token`,
			);
			check(
				typeof update.$distinct_id === "string" && update.$distinct_id !== "",
				`[${i}].$distinct_id`,
			);
			check(
				typeof update.$set === "object" && update.$set !== null,
				`[${i}].$set`,
			);
		});
	return violations.length > 0
		? {
				violations,
				status: 200,
				body: { status: 0, error: violations.join("; ") },
			}
		: { violations, status: 200, body: { status: 1, error: null } };
}

/**
 * The GDPR API v3 `POST /api/app/data-deletions/v3.0/?token=<project token>`: Bearer GDPR OAuth
 * token, a JSON body `{ distinct_ids: 1–2,000 strings, compliance_type?: "GDPR" | "CCPA" }`.
 * Answers 200 `{status: "ok", results: {task_id}}`, 401 on a bad token, 400 on a bad body.
 */
function dataDeletion(request: VendorRequest): VendorAnswer {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(
		request.query.get("token") === TEST_PUBLIC.mixpanelProjectToken,
		"token must be the project token",
	);
	check(
		request.headers["content-type"]?.startsWith("application/json"),
		"content-type must be JSON",
	);
	if (
		request.headers.authorization !==
		`Bearer ${TEST_SECRETS.MIXPANEL_GDPR_TOKEN}`
	)
		return {
			violations: ["Bearer GDPR OAuth token missing or wrong"],
			status: 401,
			body: { status: "error", error: "Invalid OAuth token" },
		};
	const body = (request.json ?? {}) as Record<string, unknown>;
	for (const key of Object.keys(body))
		check(
			key === "distinct_ids" || key === "compliance_type",
			`unknown field ${key}`,
		);
	const ids = body.distinct_ids;
	check(
		Array.isArray(ids) &&
			ids.length >= 1 &&
			ids.length <= 2000 &&
			ids.every((id) => typeof id === "string" && id !== ""),
		"distinct_ids must hold 1–2,000 non-empty strings",
	);
	check(
		body.compliance_type === undefined ||
			body.compliance_type === "GDPR" ||
			body.compliance_type === "CCPA",
		"compliance_type must be GDPR or CCPA",
	);
	if (violations.length > 0)
		return {
			violations,
			status: 400,
			body: { status: "error", error: violations.join("; ") },
		};
	return {
		violations,
		status: 200,
		body: { status: "ok", results: { task_id: `task_${Date.now()}` } },
	};
}
