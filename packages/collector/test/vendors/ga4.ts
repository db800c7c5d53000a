import { checker, type VendorHandler } from "./mock-server";
import { TEST_PUBLIC, TEST_SECRETS } from "./secrets";

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * GA4's Measurement Protocol `/mp/collect`. Like GA4 it answers 204 to anything; what the
 * validation server (`/debug/mp/collect`) would flag is recorded as violations: measurement_id
 * and api_secret in the query, client_id, 1–25 events, event and parameter names (≤ 40
 * characters, letter first, letters/digits/_), at most 25 parameters, values ≤ 100 characters
 * (page_location 1000, page_referrer 420, page_title 300), 130 KB a request.
 *
 * @example
 * await startMockServer(ga4Collect);
 */
export const ga4Collect: VendorHandler = (request) => {
	const { violations, check } = checker();
	check(request.method === "POST", "method must be POST");
	check(request.path === "/mp/collect", `unknown path ${request.path}`);
	check(
		request.query.get("measurement_id") === TEST_PUBLIC.ga4MeasurementId,
		"measurement_id",
	);
	check(
		request.query.get("api_secret") === TEST_SECRETS.GA4_API_SECRET,
		"api_secret",
	);
	check(Buffer.byteLength(request.text) <= 130 * 1024, "request over 130 KB");
	const body = request.json as
		| { client_id?: unknown; events?: unknown }
		| undefined;
	check(
		typeof body?.client_id === "string" && body.client_id !== "",
		"client_id is required",
	);
	const events = body?.events;
	if (
		check(
			Array.isArray(events) && events.length >= 1 && events.length <= 25,
			"events must hold 1–25 events",
		)
	)
		(events as { name?: unknown; params?: Record<string, unknown> }[]).forEach(
			(event, i) => {
				check(
					typeof event.name === "string" && NAME.test(event.name),
					`events[${i}].name '${String(event.name)}' is invalid`,
				);
				const params = event.params ?? {};
				check(
					Object.keys(params).length <= 25,
					`events[${i}] has more than 25 params`,
				);
				for (const [name, value] of Object.entries(params)) {
					if (name === "items") continue;
					check(NAME.test(name), `events[${i}].params.${name}: invalid name`);
					const limit =
						{ page_location: 1000, page_referrer: 420, page_title: 300 }[
							name
						] ?? 100;
					check(
						typeof value !== "string" || value.length <= limit,
						`events[${i}].params.${name}: value too long`,
					);
				}
			},
		);
	return { violations, status: 204 };
};
