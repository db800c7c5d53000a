/**
 * Gzip-compresses text, for an archive object.
 *
 * @example
 * await env.ARCHIVE.put(key, await gzipText('{"messageId":"m1"}\n'));
 */
export async function gzipText(text: string): Promise<ArrayBuffer> {
	const stream = new Blob([text])
		.stream()
		.pipeThrough(new CompressionStream("gzip"));
	return new Response(stream).arrayBuffer();
}

/**
 * Reads a gzip-compressed body as text.
 *
 * @example
 * const text = await gunzipText((await env.ARCHIVE.get(key))!.body);
 */
export async function gunzipText(body: ReadableStream): Promise<string> {
	return new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
}

/** What a rewrite did to one object. */
export type RewriteOutcome =
	/** No such object (never written, or already deleted): nothing holds the events. */
	| "missing"
	/** The object holds none of the events (already rewritten): left as it is. */
	| "unchanged"
	/** Written again without the events. */
	| "rewritten"
	/** Every event was to go: the object was deleted. */
	| "deleted"
	/** Someone wrote the object meanwhile: try again later. */
	| "conflict";

export interface RewriteResult {
	outcome: RewriteOutcome;
	/** Events taken out. */
	removed: number;
}

/**
 * Rewrites a gzip NDJSON archive object without the events whose `context.profileId` is one of
 * `profileIds`, keeping its metadata (the `events` count follows). Idempotent: an object that
 * holds none of them is left alone. The write is conditional on the object being the one read,
 * so a concurrent writer is never overwritten (outcome `conflict`). A line that is not JSON is
 * kept: it cannot be told to belong to anyone.
 *
 * @example
 * await rewriteWithout(env.ARCHIVE, "events/dt=2026-11-01/hour=08/ab.ndjson.gz", new Set(["prof_1"]))
 * // { outcome: "rewritten", removed: 6 }
 */
export async function rewriteWithout(
	bucket: R2Bucket,
	key: string,
	profileIds: ReadonlySet<string>,
): Promise<RewriteResult> {
	const object = await bucket.get(key);
	if (!object) return { outcome: "missing", removed: 0 };
	const lines = (await gunzipText(object.body))
		.split("\n")
		.filter((line) => line !== "");
	const kept = lines.filter((line) => !profileIds.has(profileOf(line) ?? ""));
	const removed = lines.length - kept.length;
	if (removed === 0) return { outcome: "unchanged", removed };
	if (kept.length === 0) {
		await bucket.delete(key);
		return { outcome: "deleted", removed };
	}
	const written = await bucket.put(
		key,
		await gzipText(`${kept.join("\n")}\n`),
		{
			onlyIf: { etagMatches: object.etag },
			httpMetadata: object.httpMetadata ?? {},
			customMetadata: {
				...object.customMetadata,
				events: String(kept.length),
			},
		},
	);
	return written
		? { outcome: "rewritten", removed }
		: { outcome: "conflict", removed: 0 };
}

function profileOf(line: string): string | undefined {
	try {
		const event = JSON.parse(line) as { context?: { profileId?: unknown } };
		const profileId = event?.context?.profileId;
		return typeof profileId === "string" ? profileId : undefined;
	} catch {
		// Not an event line: it is kept (see above).
		return undefined;
	}
}
