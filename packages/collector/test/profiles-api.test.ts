import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { ProfileView } from "../src/identity/profile-view";
import {
	consume,
	depsFor,
	message,
	newCache,
	ownerOf,
	resetState,
	seg,
	storeAndResolve,
	toQueued,
	useConfig,
} from "./helpers/identity";
import { recordsOf } from "./helpers/records";

const TOKEN = env.ADMIN_TOKEN;

function api(
	path: string,
	init: RequestInit = {},
	token: string | null = TOKEN,
) {
	const headers = new Headers(init.headers);
	if (token !== null) headers.set("Authorization", `Bearer ${token}`);
	return exports.default.fetch(
		new Request(`https://collector.example.com${path}`, { ...init, headers }),
	);
}

async function getProfile(path: string) {
	const res = await api(path);
	return {
		status: res.status,
		body: (await res.json()) as {
			success: boolean;
			requestedId?: string;
			profile: ProfileView;
			error?: string;
		},
	};
}

async function send(...events: Record<string, unknown>[]) {
	const [result] = await consume(events.map((e) => message(toQueued(e))));
	expect(result?.ackAll).toBe(true);
}

/** Ann: a laptop she signed in on, then a phone that is merged into her profile. */
async function ann() {
	await send(
		seg({
			type: "identify",
			anonymousId: "laptop",
			userId: "u1",
			timestamp: "2026-11-01T08:00:00.000Z",
			traits: { email: "Ann@Example.com", name: "Ann", plan: "free" },
		}),
		seg({
			type: "group",
			userId: "u1",
			groupId: "org_1",
			timestamp: "2026-11-01T08:01:00.000Z",
			traits: { name: "Acme", plan: "team" },
		}),
	);
	await send(
		seg({
			type: "page",
			anonymousId: "phone",
			timestamp: "2026-11-01T09:00:00.000Z",
		}),
	);
	const phone = await ownerOf("anonymous_id", "phone");
	await send(
		seg({
			type: "identify",
			anonymousId: "phone",
			userId: "u1",
			timestamp: "2026-11-01T09:05:00.000Z",
			traits: { plan: "pro" },
		}),
		seg({
			type: "track",
			userId: "u1",
			event: "Order Completed",
			timestamp: "2026-11-01T09:10:00.000Z",
			properties: { revenue: 42.5 },
		}),
	);
	const home = await ownerOf("user_id", "u1");
	expect(phone).not.toBe(home);
	return { home: home ?? "", phone: phone ?? "" };
}

beforeEach(async () => {
	await resetState();
	await useConfig();
});

describe("admin authentication", () => {
	it("answers 401 without the bearer token, or with a wrong one", async () => {
		for (const token of [null, "wrong-token", `${TOKEN}x`]) {
			const res = await api("/v1/profiles?user_id=u1", {}, token);
			expect(res.status).toBe(401);
			expect(await res.json()).toMatchObject({
				success: false,
				error: "unauthorized",
			});
		}
		const del = await api("/v1/profiles/prof_x", { method: "DELETE" }, null);
		expect(del.status).toBe(401);
	});
});

describe("GET /v1/profiles", () => {
	it("shows the single customer view", async () => {
		const { home, phone } = await ann();
		const { status, body } = await getProfile(`/v1/profiles/${home}`);
		expect(status).toBe(200);
		const { profile } = body;
		expect(profile.id).toBe(home);
		expect(profile.traits).toEqual({
			email: "Ann@Example.com",
			name: "Ann",
			plan: "pro",
		});
		expect(profile.computedTraits).toEqual({
			firstSeen: "2026-11-01T08:00:00.000Z",
			lastSeen: "2026-11-01T09:10:00.000Z",
			eventCounts: { group: 1, identify: 2, page: 1, track: 1 },
			lifetimeValue: 42.5,
			lifetime_value: 42.5,
		});
		expect(profile.identities.map((i) => `${i.type}:${i.value}`)).toEqual([
			"anonymous_id:laptop",
			"anonymous_id:phone",
			"email:ann@example.com",
			"user_id:u1",
		]);
		expect(profile.groups).toEqual([
			expect.objectContaining({
				groupId: "org_1",
				traits: { name: "Acme", plan: "team" },
			}),
		]);
		expect(profile.merges).toEqual([
			expect.objectContaining({ survivorId: home, absorbedId: phone }),
		]);
		expect(profile.events.map((e) => e.type)).toEqual([
			"track",
			"identify",
			"page",
			"group",
			"identify",
		]);
	});

	it("answers a merged id with the survivor", async () => {
		const { home, phone } = await ann();
		const { status, body } = await getProfile(`/v1/profiles/${phone}`);
		expect(status).toBe(200);
		expect(body.requestedId).toBe(phone);
		expect(body.profile.id).toBe(home);
	});

	it("finds a profile by user_id, anonymous_id or email", async () => {
		const { home } = await ann();
		for (const query of [
			"user_id=u1",
			"anonymous_id=phone",
			"email=%20ANN@example.com",
		]) {
			const { status, body } = await getProfile(`/v1/profiles?${query}`);
			expect(status, query).toBe(200);
			expect(body.profile.id).toBe(home);
		}
		expect((await getProfile("/v1/profiles?user_id=nobody")).status).toBe(404);
		expect((await getProfile("/v1/profiles/prof_missing")).status).toBe(404);
		expect((await getProfile("/v1/profiles?user_id=u1&email=x")).status).toBe(
			400,
		);
		expect((await getProfile("/v1/profiles")).status).toBe(400);
	});

	it("lists the latest 50 events, newest first", async () => {
		const events = Array.from({ length: 60 }, (_, i) =>
			seg({
				type: "track",
				userId: "u1",
				event: `E${i}`,
				timestamp: new Date(Date.UTC(2026, 10, 1, 8, i)).toISOString(),
			}),
		);
		await send(...events);
		const { body } = await getProfile("/v1/profiles?user_id=u1");
		expect(body.profile.computedTraits.eventCounts).toEqual({ track: 60 });
		expect(body.profile.events).toHaveLength(50);
		expect(body.profile.events[0]?.payload).toMatchObject({ event: "E59" });
		expect(body.profile.events[49]?.payload).toMatchObject({ event: "E10" });
	});

	it("shows the merges refused to keep two users apart", async () => {
		await send(seg({ type: "identify", anonymousId: "kiosk", userId: "u1" }));
		await send(seg({ type: "identify", anonymousId: "kiosk", userId: "u2" }));
		const { body } = await getProfile("/v1/profiles?user_id=u2");
		expect(body.profile.refusedMerges).toEqual([
			expect.objectContaining({
				profileId: body.profile.id,
				refusedProfileId: await ownerOf("user_id", "u1"),
				identifierType: "user_id",
			}),
		]);
	});
});

describe("DELETE /v1/profiles/:id", () => {
	it("erases the profile, its identities and events, and records the deletion", async () => {
		const { home, phone } = await ann();
		await env.IDENTITY_CACHE.put("identity:anonymous_id:phone", home);

		const res = await api(`/v1/profiles/${phone}`, { method: "DELETE" });
		expect(res.status).toBe(200);
		const { deleted, erasure } = (await res.json()) as {
			deleted: Record<string, unknown>;
			erasure: Record<string, unknown>;
		};
		expect(deleted).toEqual({
			deletionId: expect.any(Number),
			profileId: home,
			mergedProfileIds: [phone],
			identities: [
				{ type: "anonymous_id", value: "laptop" },
				{ type: "anonymous_id", value: "phone" },
				{ type: "email", value: "ann@example.com" },
				{ type: "user_id", value: "u1" },
			],
			events: 5,
			removed: {
				profiles: 2,
				identities: 4,
				traits: 3,
				events: 5,
				deliveries: 0,
				cancelledDeliveries: 0,
				parked: 0,
				// Ann's three batches of events of record are in one hour partition, left for the
				// R2 rewrite.
				archiveObjects: 1,
			},
		});
		// Done at once: every D1 store. Left for the crons: forwarding, then hashing the record.
		expect(erasure).toMatchObject({
			deletionId: deleted.deletionId,
			profileId: home,
			mergedProfileIds: [phone],
			complete: false,
			completedAt: null,
			stores: {
				profile: { complete: true, remaining: 0 },
				events: { complete: false, removed: 5, remaining: 1 },
				deliveryLog: { complete: true, remaining: 0 },
				pendingDeliveries: { complete: true, cancelled: 0 },
				parked: { complete: true, removed: 0 },
				archive: { complete: true, pending: 0 },
				destinations: { complete: false, started: false },
				identifiers: { complete: false, hashedAt: null },
			},
		});

		expect((await getProfile(`/v1/profiles/${home}`)).status).toBe(404);
		expect((await getProfile(`/v1/profiles/${phone}`)).status).toBe(404);
		expect(
			(await getProfile("/v1/profiles?email=ann@example.com")).status,
		).toBe(404);
		const left = await env.DB.prepare(
			`SELECT (SELECT COUNT(*) FROM identities)
			   + (SELECT COUNT(*) FROM profiles) + (SELECT COUNT(*) FROM profile_traits)
			   + (SELECT COUNT(*) FROM profile_event_counts) + (SELECT COUNT(*) FROM profile_groups)
			   + (SELECT COUNT(*) FROM profile_merges) AS n`,
		).first<number>("n");
		expect(left).toBe(0);
		const recorded = await env.DB.prepare(
			"SELECT * FROM profile_deletions",
		).all<{
			profile_id: string;
			identities: string;
		}>();
		expect(recorded.results).toHaveLength(1);
		expect(recorded.results[0]?.profile_id).toBe(home);
		expect(JSON.parse(recorded.results[0]?.identities ?? "[]")).toEqual(
			deleted.identities,
		);
		expect(
			await env.IDENTITY_CACHE.get("identity:anonymous_id:phone"),
		).toBeNull();
		// Suppressions keep hashes, not the identifiers.
		const hashes = await env.DB.prepare(
			"SELECT key_hash FROM identity_suppressions",
		).all();
		expect(hashes.results).toHaveLength(4);
		expect(JSON.stringify(hashes.results)).not.toContain("ann@example.com");

		expect(
			(await api(`/v1/profiles/${home}`, { method: "DELETE" })).status,
		).toBe(404);
	});

	it("drops and counts the events that still carry a deleted identifier", async () => {
		const { home } = await ann();
		await api(`/v1/profiles/${home}`, { method: "DELETE" });

		const later = [
			seg({ type: "page", anonymousId: "laptop" }),
			seg({ type: "track", userId: "u1", event: "Came Back" }),
			// Someone else on Ann's old laptop keeps their event; the laptop is not linked again.
			seg({ type: "identify", anonymousId: "laptop", userId: "u2" }),
		];
		await send(...later);
		expect(await ownerOf("anonymous_id", "laptop")).toBeUndefined();
		expect(await ownerOf("user_id", "u1")).toBeUndefined();
		expect(await ownerOf("user_id", "u2")).toBeDefined();
		const dropped = await env.DB.prepare(
			"SELECT SUM(dropped_events) AS n FROM identity_suppressions",
		).first<number>("n");
		expect(dropped).toBe(2);
		// Only the other person's event is on record from that batch.
		const kept = await recordsOf(later.map((e) => String(e.messageId)));
		expect(kept.map((e) => e.event.userId)).toEqual(["u2"]);
	});

	it("drops them even in an isolate whose cache still knows the deleted profile", async () => {
		const cache = newCache({ kv: false });
		await storeAndResolve(
			[seg({ type: "identify", anonymousId: "a1", userId: "u1" })],
			depsFor(cache),
		);
		const home = await ownerOf("user_id", "u1");
		expect(cache.identities.get("identity:anonymous_id:a1")).toBe(home);

		await api(`/v1/profiles/${home}`, { method: "DELETE" });
		const { events, stats } = await storeAndResolve(
			[seg({ type: "page", anonymousId: "a1" })],
			depsFor(cache),
		);
		expect(events).toEqual([]);
		expect(stats).toMatchObject({ dropped: 1, attempts: 2 });
		expect(
			await env.DB.prepare("SELECT COUNT(*) AS n FROM profiles").first("n"),
		).toBe(0);
	});

	it("suppresses only for the source's configured time", async () => {
		await useConfig({ suppressionDays: 0 });
		const { home } = await ann();
		await api(`/v1/profiles/${home}`, { method: "DELETE" });
		await send(seg({ type: "page", anonymousId: "laptop" }));
		expect(await ownerOf("anonymous_id", "laptop")).toBeDefined();
	});
});
