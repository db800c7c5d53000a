import { checker, type VendorHandler } from "./mock-server";
import { TEST_SECRETS } from "./secrets";

/**
 * Amplitude's HTTP V2 API `POST /2/httpapi`: `{ api_key, events, options? }`, at most 2,000
 * events and under 1 MB; each event needs event_type, a user_id or device_id of at least
 * `min_id_length` (default 5) characters and a numeric time. Answers 200
 * `{code, events_ingested, payload_size_bytes, server_upload_time}`, 413 when too large, or 400
 * naming offending events in `events_with_invalid_fields`, `events_with_missing_fields` and
 * `events_with_invalid_id_lengths` — ingesting nothing, as Amplitude does.
 *
 * @example
 * await startMockServer(amplitudeApi);
 */
export const amplitudeApi: VendorHandler = (request) => {
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
