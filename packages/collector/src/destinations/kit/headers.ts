import * as v from "valibot";
import { SecretRefSchema } from "../../config/secret";

/** RFC 9110 §5.6.2 token: the only characters a field name may hold (so no CR, LF or ':'). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Header names a destination may not set: the connection's own (RFC 9110 §7.2 Host, §7.6.1
 * hop-by-hop fields, §8.6 Content-Length), which the runtime sets from the URL and body and
 * which would let a config smuggle a request past a proxy; and the ones the webhook type sets
 * itself (its content type and the Standard Webhooks signature fields).
 */
const RESERVED_HEADERS = new Set([
	"host",
	"connection",
	"keep-alive",
	"transfer-encoding",
	"te",
	"trailer",
	"upgrade",
	"content-length",
	"content-type",
	"webhook-id",
	"webhook-timestamp",
	"webhook-signature",
]);

/**
 * Headers whose value may be a secret reference. `Authorization` is where HTTP carries
 * credentials (RFC 9110 §11.6.2): proxies, request loggers and tracing tools redact it, and
 * shared caches treat a request with it as private (RFC 9111 §3.5). The API-key headers are its
 * common stand-ins among receivers. Any other header is ordinary data that lands in logs, so a
 * secret there is refused.
 */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
	"authorization",
	"x-api-key",
	"api-key",
	"apikey",
	"x-auth-token",
]);

/** Why a header name may not be configured, or undefined. */
function nameProblem(name: string): string | undefined {
	if (!TOKEN.test(name))
		return "a header name is an RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~ only (no spaces, ':' or line breaks)";
	const lower = name.toLowerCase();
	if (RESERVED_HEADERS.has(lower) || lower.startsWith("proxy-"))
		return `'${name}' is set by the runtime or the webhook itself and cannot be configured`;
	return undefined;
}

/** CR, LF and NUL end or corrupt a header line (RFC 9110 §5.5). */
const FORBIDDEN_VALUE = /[\r\n\0]/;

/**
 * A webhook's extra request headers: `{ "X-Team": "growth", "Authorization": { "secret": "HOOK_AUTH" } }`.
 * Names are RFC 9110 tokens, neither the connection's own fields nor the webhook's; values hold
 * no CR, LF or NUL; a secret reference is only taken by a credential header (CREDENTIAL_HEADERS);
 * two names that differ only in case are one header, so they are refused.
 *
 * @example
 * v.parse(WebhookHeadersSchema, { Authorization: { secret: "HOOK_AUTH" } })
 */
export const WebhookHeadersSchema = v.pipe(
	v.record(
		v.pipe(
			v.string(),
			v.check(
				(name) => nameProblem(name) === undefined,
				(issue) => nameProblem(String(issue.input)) ?? "",
			),
		),
		v.union(
			[
				v.pipe(
					v.string(),
					v.check(
						(value) => !FORBIDDEN_VALUE.test(value),
						"a header value may not contain CR, LF or NUL",
					),
				),
				SecretRefSchema,
			],
			"must be a string or a secret reference",
		),
	),
	v.rawCheck(({ dataset, addIssue }) => {
		if (!dataset.typed) return;
		const headers = dataset.value;
		const seen = new Set<string>();
		for (const [name, value] of Object.entries(headers)) {
			const path: [v.ObjectPathItem] = [
				{ type: "object", origin: "value", input: headers, key: name, value },
			];
			const lower = name.toLowerCase();
			if (seen.has(lower))
				addIssue({
					message: `'${name}' repeats another header's name (names are case-insensitive)`,
					path,
				});
			seen.add(lower);
			if (typeof value !== "string" && !CREDENTIAL_HEADERS.has(lower))
				addIssue({
					message: `a secret reference is only allowed in a credential header (${[...CREDENTIAL_HEADERS].join(", ")}); '${name}' would send it as ordinary data`,
					path,
				});
		}
	}),
);
