import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An error that ends a request with a JSON body `{ success: false, error, code, message }`.
 * Middleware throws it; the app's error handler turns it into the response.
 *
 * @example
 * throw new ApiError(401, "unauthorized", "Unknown write key");
 */
export class ApiError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: string,
		message: string,
		readonly headers: Record<string, string> = {},
	) {
		super(message);
		this.name = "ApiError";
	}
}

/**
 * The JSON body of every error response. `code` and `message` are what Segment's API answers
 * (analytics-python reads both and fails on a body without `code`); `error` repeats the code
 * for clients of earlier versions.
 *
 * @example
 * errorBody("unauthorized", "Unknown write key")
 * // { success: false, error: "unauthorized", code: "unauthorized", message: "Unknown write key" }
 */
export function errorBody(code: string, message: string) {
	return { success: false as const, error: code, code, message };
}

/**
 * The message of a thrown value, for logs and parked rows (a thrown non-Error is stringified).
 *
 * @example
 * console.error(JSON.stringify({ msg: "batch failed", error: errorText(error) }));
 */
export function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
