import type { WireObject } from "@conduit/protocol";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors";
import { parseJson } from "../../json";
import type { AppEnv } from "../env";

export interface JsonBodyOptions {
	/** Largest body accepted, counted after decompression. */
	maxBytes: number;
}

/** Content-Encoding values the runtime's DecompressionStream understands. */
const DECODERS: Record<string, "gzip" | "deflate" | undefined> = {
	gzip: "gzip",
	"x-gzip": "gzip",
	deflate: "deflate",
};

/**
 * Reads the request body as a JSON object into `c.get("body")`, never holding more than
 * `maxBytes` (after gzip/deflate decompression) in memory: a larger body is cut off mid-stream.
 * The body is read as JSON whatever its Content-Type says: browsers send text/plain to avoid a
 * CORS preflight, rudder-sdk-node's gzip posts go out as application/x-www-form-urlencoded.
 * Every refusal is a 400, as Segment answers (any other 4xx some clients retry forever):
 * malformed JSON, a non-object body, invalid UTF-8, an unknown Content-Encoding, too large.
 *
 * @example
 * app.post("/v1/batch", jsonBody({ maxBytes: MAX_REQUEST_BYTES }), handler);
 */
export function jsonBody(options: JsonBodyOptions): MiddlewareHandler<AppEnv> {
	const { maxBytes } = options;
	return async function jsonBody(c, next) {
		const encoding = (c.req.header("content-encoding") ?? "identity")
			.trim()
			.toLowerCase();
		const format = DECODERS[encoding];
		if (!format && encoding !== "identity") {
			throw new ApiError(
				400,
				"unsupported_encoding",
				`Content-Encoding '${encoding}' is not supported; use gzip or none`,
			);
		}
		const declared = Number(c.req.header("content-length"));
		if (!format && declared > maxBytes) throw tooLarge(maxBytes);

		const raw = c.req.raw.body;
		if (!raw)
			throw new ApiError(400, "invalid_json", "The request has no body");
		// An uncompressed body whose Content-Length is within the limit cannot grow past it (the
		// runtime enforces HTTP framing), so it is read in one native call; anything else is
		// counted while it streams.
		const text =
			!format && declared >= 0 && declared <= maxBytes
				? await readWhole(c.req.raw)
				: await readBounded(
						format ? raw.pipeThrough(new DecompressionStream(format)) : raw,
						maxBytes,
						format !== undefined,
					);

		let body: unknown;
		try {
			body = parseJson(text);
		} catch (error) {
			throw new ApiError(
				400,
				"invalid_json",
				`Malformed JSON: ${(error as Error).message}`,
			);
		}
		if (typeof body !== "object" || body === null || Array.isArray(body)) {
			throw new ApiError(400, "invalid_json", "The body must be a JSON object");
		}
		c.set("body", body as WireObject);
		await next();
	};
}

function tooLarge(maxBytes: number) {
	return new ApiError(
		400,
		"payload_too_large",
		`The request body exceeds ${maxBytes / 1024} KB`,
	);
}

async function readWhole(request: Request): Promise<string> {
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
			await request.arrayBuffer(),
		);
	} catch {
		throw new ApiError(400, "invalid_body", "The body is not valid UTF-8");
	}
}

async function readBounded(
	stream: ReadableStream<Uint8Array>,
	maxBytes: number,
	compressed: boolean,
): Promise<string> {
	const reader = stream.getReader();
	const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
	let bytes = 0;
	let text = "";
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			bytes += value.byteLength;
			if (bytes > maxBytes) {
				await reader.cancel().catch(() => {
					// The stream is being abandoned: a failure to cancel changes nothing for the client.
				});
				throw tooLarge(maxBytes);
			}
			text += decoder.decode(value, { stream: true });
		}
		return text + decoder.decode();
	} catch (error) {
		if (error instanceof ApiError) throw error;
		// TextDecoder (fatal) and DecompressionStream both throw TypeError on bad input.
		const what = compressed
			? "The body is not valid compressed data or UTF-8"
			: "The body is not valid UTF-8";
		throw new ApiError(400, "invalid_body", what);
	}
}
