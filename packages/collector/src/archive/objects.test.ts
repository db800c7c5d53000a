import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gunzipText, gzipText, rewriteWithout } from "./objects";

const line = (messageId: string, profileId?: string) =>
	JSON.stringify({
		sourceId: "web",
		messageId,
		context: profileId ? { profileId } : {},
	});

async function putObject(lines: string[]): Promise<string> {
	const key = `objects-test/${crypto.randomUUID()}.ndjson.gz`;
	await env.ARCHIVE.put(key, await gzipText(`${lines.join("\n")}\n`), {
		httpMetadata: {
			contentType: "application/x-ndjson",
			contentEncoding: "gzip",
		},
		customMetadata: { events: String(lines.length), writer: "test" },
	});
	return key;
}

async function linesOf(key: string): Promise<string[]> {
	const object = await env.ARCHIVE.get(key);
	if (!object) throw new Error(`no object ${key}`);
	return (await gunzipText(object.body)).trim().split("\n");
}

describe("rewriteWithout", () => {
	it("takes out the profiles' lines and keeps the rest, the metadata and lines it cannot read", async () => {
		const key = await putObject([
			line("m1", "ann"),
			line("m2", "bob"),
			"not json",
			line("m3", "ann-old"),
			line("m4"),
		]);
		const result = await rewriteWithout(
			env.ARCHIVE,
			key,
			new Set(["ann", "ann-old"]),
		);
		expect(result).toEqual({ outcome: "rewritten", removed: 2 });
		expect(await linesOf(key)).toEqual([
			line("m2", "bob"),
			"not json",
			line("m4"),
		]);
		const head = await env.ARCHIVE.head(key);
		expect(head?.customMetadata).toEqual({ events: "3", writer: "test" });
		expect(head?.httpMetadata?.contentEncoding).toBe("gzip");
	});

	it("is idempotent: a second run leaves the object alone", async () => {
		const key = await putObject([line("m1", "ann"), line("m2", "bob")]);
		await rewriteWithout(env.ARCHIVE, key, new Set(["ann"]));
		const etag = (await env.ARCHIVE.head(key))?.etag;
		expect(await rewriteWithout(env.ARCHIVE, key, new Set(["ann"]))).toEqual({
			outcome: "unchanged",
			removed: 0,
		});
		expect((await env.ARCHIVE.head(key))?.etag).toBe(etag);
	});

	it("deletes an object that held only those profiles, and reports a missing one", async () => {
		const key = await putObject([line("m1", "ann"), line("m2", "ann")]);
		expect(await rewriteWithout(env.ARCHIVE, key, new Set(["ann"]))).toEqual({
			outcome: "deleted",
			removed: 2,
		});
		expect(await env.ARCHIVE.head(key)).toBeNull();
		expect(await rewriteWithout(env.ARCHIVE, key, new Set(["ann"]))).toEqual({
			outcome: "missing",
			removed: 0,
		});
	});

	it("never overwrites an object written after it was read", async () => {
		const key = await putObject([line("m1", "ann"), line("m2", "bob")]);
		const newer = [line("m1", "ann"), line("m2", "bob"), line("m5", "carol")];
		// A bucket whose object is written again by someone else between the read and the write.
		const racing = {
			get: async (k: string) => {
				const stale = await env.ARCHIVE.get(k);
				const body = (await stale?.arrayBuffer()) ?? new ArrayBuffer(0);
				await env.ARCHIVE.put(k, await gzipText(`${newer.join("\n")}\n`));
				return { ...stale, etag: stale?.etag, body: new Blob([body]).stream() };
			},
			put: env.ARCHIVE.put.bind(env.ARCHIVE),
			delete: env.ARCHIVE.delete.bind(env.ARCHIVE),
		} as unknown as R2Bucket;
		expect(await rewriteWithout(racing, key, new Set(["ann"]))).toEqual({
			outcome: "conflict",
			removed: 0,
		});
		expect(await linesOf(key)).toEqual(newer);
	});
});
