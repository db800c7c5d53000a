import { env } from "cloudflare:workers";
import type { WireObject } from "@conduit/protocol";
import { beforeEach, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../src/event";
import { CLOCK_ALLOWANCE_MS } from "../src/identity/event-facts";
import { useConfig } from "./helpers";
import {
	consume,
	message,
	ownerOf,
	resetState,
	toQueued,
} from "./helpers/identity";

/*
 * Finding 5 of issue 9: a public browser key outranked the server. Two sources: `web` allows a
 * browser origin (so it is a client source by default), `backend` allows none (a server).
 * Events go through the Worker's real queue handler, as ingest queues them.
 */
const CONFIG = {
	version: 1,
	sources: [
		{
			id: "web",
			writeKey: "wk_test_trust_web",
			allowedOrigins: ["https://shop.example.com"],
		},
		{ id: "backend", writeKey: "wk_test_trust_backend" },
	],
	destinations: [],
};

/** An event as ingest queues it, optionally received at a given time (default: now). */
function queued(
	raw: WireObject,
	sourceId: string,
	receivedAt?: string,
): QueuedEvent {
	const item = toQueued({ messageId: crypto.randomUUID(), ...raw }, sourceId);
	if (receivedAt) item.event.receivedAt = receivedAt;
	return item;
}

async function send(...events: QueuedEvent[]) {
	for (const event of events) {
		const [result] = await consume([message(event)]);
		expect(result?.ackAll).toBe(true);
	}
}

async function traitsOf(userId: string) {
	const { results } = await env.DB.prepare(
		"SELECT key, value FROM profile_traits WHERE profile_id = ?1",
	)
		.bind((await ownerOf("user_id", userId)) ?? "")
		.all<{ key: string; value: string }>();
	return Object.fromEntries(results.map((r) => [r.key, JSON.parse(r.value)]));
}

async function seenOf(userId: string) {
	return env.DB.prepare(
		"SELECT first_seen, last_seen FROM profiles WHERE id = ?1",
	)
		.bind((await ownerOf("user_id", userId)) ?? "")
		.first<{ first_seen: string; last_seen: string }>();
}

const hoursAgo = (hours: number) =>
	new Date(Date.now() - hours * 3_600_000).toISOString();

beforeEach(async () => {
	await resetState();
	await useConfig(CONFIG);
});

describe("source trust and clamped last-write-wins", () => {
	it("keeps the server's trait and a real lastSeen when the web key sends year 9999 (issue 9, finding 5)", async () => {
		await send(
			queued(
				{ type: "identify", userId: "vip", traits: { plan: "pro" } },
				"backend",
			),
		);
		const attack = queued(
			{
				type: "identify",
				userId: "vip",
				traits: { plan: "free" },
				timestamp: "9999-12-31T23:59:59Z",
			},
			"web",
		);
		await send(attack);

		expect(await traitsOf("vip")).toEqual({ plan: "pro" });
		const seen = await seenOf("vip");
		const latest = new Date(
			Date.parse(attack.event.receivedAt) + CLOCK_ALLOWANCE_MS,
		).toISOString();
		expect(seen?.last_seen).toBe(latest);
		expect(seen?.last_seen.startsWith("9999")).toBe(false);
	});

	it("lets a server write replace a client's newer value, and never the other way", async () => {
		await send(
			queued(
				{
					type: "identify",
					userId: "u1",
					timestamp: hoursAgo(1),
					traits: { plan: "free", theme: "dark" },
				},
				"web",
			),
			queued(
				{
					type: "identify",
					userId: "u1",
					timestamp: hoursAgo(2),
					traits: { plan: "team" },
				},
				"backend",
			),
			queued(
				{
					type: "identify",
					userId: "u1",
					traits: { plan: "free", theme: "light" },
				},
				"web",
			),
		);
		// The client still owns the traits only it writes.
		expect(await traitsOf("u1")).toEqual({ plan: "team", theme: "light" });
	});

	it("lets a later client write replace a future-dated client write once the allowance has passed", async () => {
		await send(
			queued(
				{
					type: "identify",
					userId: "u2",
					timestamp: "9999-12-31T23:59:59Z",
					traits: { plan: "free" },
				},
				"web",
				hoursAgo(2),
			),
			queued(
				{
					type: "identify",
					userId: "u2",
					timestamp: hoursAgo(1),
					traits: { plan: "basic" },
				},
				"web",
				hoursAgo(1),
			),
		);
		expect(await traitsOf("u2")).toEqual({ plan: "basic" });
	});

	it("keeps the server's traits when a client profile is merged in, whatever the times", async () => {
		await send(
			queued(
				{
					type: "identify",
					userId: "u3",
					timestamp: hoursAgo(3),
					traits: { plan: "enterprise" },
				},
				"backend",
			),
			queued(
				{
					type: "identify",
					anonymousId: "browser-u3",
					timestamp: "9999-12-31T23:59:59Z",
					traits: { plan: "free", city: "Lyon" },
				},
				"web",
			),
		);
		expect(await ownerOf("anonymous_id", "browser-u3")).not.toBe(
			await ownerOf("user_id", "u3"),
		);
		await send(
			queued({ type: "page", anonymousId: "browser-u3", userId: "u3" }, "web"),
		);
		expect(await ownerOf("anonymous_id", "browser-u3")).toBe(
			await ownerOf("user_id", "u3"),
		);
		expect(await traitsOf("u3")).toEqual({ plan: "enterprise", city: "Lyon" });
		expect((await seenOf("u3"))?.last_seen.startsWith("9999")).toBe(false);
	});

	it("applies the same rule to group traits, and clamps membership times", async () => {
		await send(
			queued(
				{
					type: "group",
					userId: "u4",
					groupId: "org_trust",
					traits: { tier: "gold" },
				},
				"backend",
			),
			queued(
				{
					type: "group",
					userId: "u4",
					groupId: "org_trust",
					timestamp: "9999-12-31T23:59:59Z",
					traits: { tier: "free", size: 3 },
				},
				"web",
			),
		);
		const { results } = await env.DB.prepare(
			"SELECT key, value FROM group_traits WHERE group_id = 'org_trust' ORDER BY key",
		).all();
		expect(results).toEqual([
			{ key: "size", value: "3" },
			{ key: "tier", value: '"gold"' },
		]);
		const membership = await env.DB.prepare(
			"SELECT last_seen FROM profile_groups WHERE group_id = 'org_trust'",
		).first<{ last_seen: string }>();
		expect(Date.parse(membership?.last_seen ?? "")).toBeLessThanOrEqual(
			Date.now() + CLOCK_ALLOWANCE_MS,
		);
	});

	it("treats traits stored before trust ranks as client writes", async () => {
		await send(
			queued({ type: "identify", userId: "u5", traits: { plan: "x" } }, "web"),
		);
		// As a row written before migration 0008: the column's default rank.
		const profile = await ownerOf("user_id", "u5");
		await env.DB.prepare(
			"INSERT INTO profile_traits (profile_id, key, value, updated_at) VALUES (?1, 'legacy', '\"old\"', ?2)",
		)
			.bind(profile, new Date().toISOString())
			.run();
		await send(
			queued(
				{
					type: "identify",
					userId: "u5",
					timestamp: hoursAgo(5),
					traits: { legacy: "from-server" },
				},
				"backend",
			),
			queued(
				{
					type: "identify",
					userId: "u5",
					timestamp: hoursAgo(6),
					traits: { plan: "older-client" },
				},
				"web",
			),
		);
		expect(await traitsOf("u5")).toEqual({ plan: "x", legacy: "from-server" });
	});
});
