import {
	basicCredentials,
	checker,
	type VendorAnswer,
	type VendorHandler,
	type VendorRequest,
} from "./mock-server";
import { TEST_SECRETS } from "./secrets";

/**
 * Amplitude's HTTP V2 API `POST /2/httpapi`: `{ api_key, events, options? }`, at most 2,000
 * events and under 1 MB; each event needs event_type, a user_id or device_id of at least
 * `min_id_length` (default 5) characters and a numeric time. Answers 200
 * `{code, events_ingested, payload_size_bytes, server_upload_time}`, 413 when too large, or 400
 * naming offending events in `events_with_invalid_fields`, `events_with_missing_fields` and
 * `events_with_invalid_id_lengths` — ingesting nothing, as Amplitude does.
 * Also the User Privacy API `POST /api/2/deletions/users` (see `deletionApi`).
 *
 * @example
 * await startMockServer(amplitudeApi);
 */
export const amplitudeApi: VendorHandler = (request) => {
	if (request.path === "/api/2/deletions/users") return deletionApi(request);
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(request.path === "/2/httpapi", `unknown path ${request.path}`);
	check(
		request.headers["content-type"] === "application/json",
		"content-type must be application/json",
	);
	if (Buffer.byteLength(request.text) >= 1024 * 1024)
		return {
			violations,
			status: 413,
			body: { code: 413, error: "Payload too large" },
		};
	const body = request.json as
		| {
				api_key?: unknown;
				events?: unknown;
				options?: { min_id_length?: number };
		  }
		| undefined;
	if (body?.api_key !== TEST_SECRETS.AMPLITUDE_API_KEY)
		return {
			violations: ["api_key wrong"],
			status: 400,
			body: { code: 400, error: "Invalid API key", missing_field: "api_key" },
		};
	const events = body.events;
	if (
		!check(
			Array.isArray(events) && events.length >= 1 && events.length <= 2000,
			"events must hold 1–2000 events",
		)
	)
		return {
			violations,
			status: 400,
			body: {
				code: 400,
				error: "Request missing required field",
				missing_field: "events",
			},
		};
	const minId = body.options?.min_id_length ?? 5;
	const missing: Record<string, number[]> = {};
	const invalid: Record<string, number[]> = {};
	const shortIds: Record<string, number[]> = {};
	const add = (
		into: Record<string, number[]>,
		field: string,
		index: number,
	) => {
		into[field] = [...(into[field] ?? []), index];
	};
	(events as Record<string, unknown>[]).forEach((event, i) => {
		if (typeof event.event_type !== "string" || event.event_type === "")
			add(missing, "event_type", i);
		if (event.user_id === undefined && event.device_id === undefined)
			add(missing, "user_id", i);
		for (const field of ["user_id", "device_id"])
			if (
				typeof event[field] === "string" &&
				(event[field] as string).length < minId
			)
				add(shortIds, field, i);
		if (typeof event.time !== "number") add(invalid, "time", i);
		check(
			typeof event.insert_id === "string",
			`events[${i}].insert_id missing`,
		);
	});
	const named = [missing, invalid, shortIds].some(
		(m) => Object.keys(m).length > 0,
	);
	if (named)
		return {
			violations,
			status: 400,
			body: {
				code: 400,
				error: "Request had invalid events",
				events_with_missing_fields: missing,
				events_with_invalid_fields: invalid,
				events_with_invalid_id_lengths: shortIds,
			},
		};
	return {
		violations,
		status: 200,
		body: {
			code: 200,
			events_ingested: (events as unknown[]).length,
			payload_size_bytes: Buffer.byteLength(request.text),
			server_upload_time: Date.now(),
		},
	};
};

/**
 * The User Privacy API: Basic auth with the project's API key and secret key, a JSON body with
 * `user_ids` and/or `amplitude_ids` (together 1–100), optional `requester` (string),
 * `ignore_invalid_ids` and `delete_from_org` (booleans; org-wide deletion takes user_ids only).
 * Answers 200 with the scheduled deletion job, 401 on bad credentials, 400 on a bad body.
 */
function deletionApi(request: VendorRequest): VendorAnswer {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(
		request.headers["content-type"]?.startsWith("application/json"),
		"content-type must be JSON",
	);
	const credentials = basicCredentials(request.headers);
	if (
		credentials?.[0] !== TEST_SECRETS.AMPLITUDE_API_KEY ||
		credentials[1] !== TEST_SECRETS.AMPLITUDE_SECRET_KEY
	)
		return {
			violations: ["Basic auth must be api_key:secret_key"],
			status: 401,
			body: { error: "Invalid API key or secret key" },
		};
	const body = (request.json ?? {}) as Record<string, unknown>;
	const userIds = body.user_ids ?? [];
	const amplitudeIds = body.amplitude_ids ?? [];
	const known = new Set([
		"user_ids",
		"amplitude_ids",
		"requester",
		"ignore_invalid_ids",
		"delete_from_org",
	]);
	for (const key of Object.keys(body))
		check(known.has(key), `unknown field ${key}`);
	check(
		Array.isArray(userIds) && userIds.every((id) => typeof id === "string"),
		"user_ids must be an array of strings",
	);
	check(
		Array.isArray(amplitudeIds) &&
			amplitudeIds.every((id) => Number.isInteger(id)),
		"amplitude_ids must be an array of integers",
	);
	const count =
		(Array.isArray(userIds) ? userIds.length : 0) +
		(Array.isArray(amplitudeIds) ? amplitudeIds.length : 0);
	check(count >= 1 && count <= 100, "1–100 users a request");
	check(
		body.requester === undefined || typeof body.requester === "string",
		"requester must be a string",
	);
	for (const flag of ["ignore_invalid_ids", "delete_from_org"])
		check(
			body[flag] === undefined || typeof body[flag] === "boolean",
			`${flag} must be a boolean`,
		);
	check(
		body.delete_from_org !== true ||
			(Array.isArray(amplitudeIds) && amplitudeIds.length === 0),
		"delete_from_org takes user_ids only",
	);
	if (violations.length > 0)
		return { violations, status: 400, body: { error: violations.join("; ") } };
	const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
	return {
		violations,
		status: 200,
		body: {
			day,
			status: "staging",
			amplitude_ids: [],
			user_ids: (userIds as string[]).map((user_id) => ({
				user_id,
				requester: body.requester ?? "",
				requested_on_day: new Date().toISOString().slice(0, 10),
			})),
		},
	};
}
