import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { item, sendContext } from "../../../test/delivery-helpers";
import { partitionOf, r2 } from ".";

async function gunzip(body: ReadableStream): Promise<string> {
	return new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
}

describe("r2 destination", () => {
	it("writes one gzip NDJSON object per batch and hour, under a date/hour partition", async () => {
		const prefix = `t${crypto.randomUUID().slice(0, 8)}/`;
		const items = [
			item({ receivedAt: "2026-11-01T08:10:00.000Z" }),
			item({ receivedAt: "2026-11-01T08:50:00.000Z" }),
			item({ receivedAt: "2026-11-01T09:05:00.000Z" }),
		];
		const verdicts = await r2.send(items, sendContext({ prefix }));
		expect(verdicts.map((v) => v.outcome)).toEqual(["ok", "ok", "ok"]);
		const listed = await env.ARCHIVE.list({ prefix });
		const keys = listed.objects.map((o) => o.key).sort();
		expect(keys).toHaveLength(2);
		expect(keys[0]).toMatch(
			new RegExp(`^${prefix}dt=2026-11-01/hour=08/[0-9a-f]{32}\\.ndjson\\.gz$`),
		);
		expect(keys[1]).toMatch(/dt=2026-11-01\/hour=09\//);
		const object = await env.ARCHIVE.get(keys[0] as string);
		expect(object?.httpMetadata?.contentEncoding).toBe("gzip");
		const lines = (await gunzip(object?.body as ReadableStream))
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l));
		expect(lines.map((l) => l.messageId)).toEqual([
			items[0]?.event.messageId,
			items[1]?.event.messageId,
		]);
		expect(lines[0].sourceId).toBe("web");
	});

	it("rewrites the same object when the same batch comes again", async () => {
		const prefix = `t${crypto.randomUUID().slice(0, 8)}/`;
		const items = [item(), item()];
		await r2.send(items, sendContext({ prefix }));
		await r2.send(items, sendContext({ prefix }));
		expect((await env.ARCHIVE.list({ prefix })).objects).toHaveLength(1);
	});

	it("partitions by UTC date and hour", () => {
		expect(partitionOf("2026-11-01T23:59:59+02:00")).toBe(
			"dt=2026-11-01/hour=21",
		);
	});
});
