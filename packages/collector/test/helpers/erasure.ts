import { env, exports } from "cloudflare:workers";
import type { WireObject } from "@conduit/protocol";
import { gunzipText } from "../../src/archive/objects";
import type { DeliveryItem } from "../../src/destinations/types";
import { tenant, WRITE_KEY } from "../delivery-helpers";
import { useConfig } from "../helpers";
import { consume, message, ownerOf, toQueued } from "./identity";
import { recordedEvents } from "./records";

/** The source every erasure test sends from: phone numbers identify people too. */
export function erasureConfig(destinations: unknown[] = []) {
	return {
		version: 1,
		// The destinations are the local vendor stand-ins, on 127.0.0.1.
		allowPrivateNetwork: true,
		sources: [
			{
				id: "web",
				writeKey: WRITE_KEY,
				allowedOrigins: ["https://shop.example.com"],
				rateLimit: false,
				identity: { traitIdentifiers: ["email", "phone"] },
			},
		],
		destinations,
	};
}

/** A person's identifiers, unique per call so that a scan finds only theirs. */
export interface Identifiers {
	userId: string;
	anonymousId: string;
	/** A second device's anonymousId, merged into the person's profile by their sign-in. */
	phoneAnonymousId: string;
	email: string;
	name: string;
	phone: string;
}

export function identifiersOf(label: string): Identifiers {
	const key = tenant();
	return {
		userId: `${label}-user-${key}`,
		anonymousId: `${label}-anon-${key}`,
		phoneAnonymousId: `${label}-phone-anon-${key}`,
		email: `${label}.${key}@example.com`,
		name: `${label} Quill-${key}`,
		phone: `+44 7700 ${key.slice(0, 6)}`,
	};
}

/** Every identifier of a person, as a scan looks for them. */
export function needles(ids: Identifiers): string[] {
	return [
		ids.userId,
		ids.anonymousId,
		ids.phoneAnonymousId,
		ids.email,
		ids.name,
		ids.phone,
	];
}

/** Segment events of a person: a first identify with every trait, then tracks. */
export function eventsOf(ids: Identifiers, tracks: number): WireObject[] {
	const now = Date.now();
	const at = (i: number) => new Date(now - 60_000 + i * 1000).toISOString();
	return [
		{
			type: "identify",
			messageId: `${ids.userId}-identify`,
			anonymousId: ids.anonymousId,
			userId: ids.userId,
			timestamp: at(0),
			traits: { email: ids.email, name: ids.name, phone: ids.phone },
		},
		...Array.from({ length: tracks }, (_, i) => ({
			type: "track",
			messageId: `${ids.userId}-track-${i}`,
			userId: ids.userId,
			event: "Order Completed",
			timestamp: at(i + 1),
			properties: { revenue: 10 + i, email: ids.email },
			context: { traits: { name: ids.name, phone: ids.phone } },
		})),
	];
}

export interface Person {
	ids: Identifiers;
	profileId: string;
	/** The profile of the second device, absorbed into profileId. */
	absorbedId: string;
	/** The person's events as the consumer hands them to destinations (with context.profileId). */
	items: DeliveryItem[];
}

/**
 * A person made through the real EVENTS consumer (with the current config): `eventsOf`, then a
 * page from a second device (its own profile) and an identify from it, which merges it in.
 */
export async function person(label: string, tracks = 4): Promise<Person> {
	const ids = identifiersOf(label);
	await consume(eventsOf(ids, tracks).map((e) => message(toQueued(e))));
	const phonePage: WireObject = {
		type: "page",
		messageId: `${ids.userId}-phone-page`,
		anonymousId: ids.phoneAnonymousId,
		timestamp: new Date().toISOString(),
	};
	await consume([message(toQueued(phonePage))]);
	const absorbedId =
		(await ownerOf("anonymous_id", ids.phoneAnonymousId)) ?? "";
	await consume([
		message(
			toQueued({
				type: "identify",
				messageId: `${ids.userId}-phone-identify`,
				anonymousId: ids.phoneAnonymousId,
				userId: ids.userId,
				timestamp: new Date().toISOString(),
			}),
		),
	]);
	const profileId = (await ownerOf("user_id", ids.userId)) ?? "";
	if (!profileId || !absorbedId || profileId === absorbedId)
		throw new Error(`${label}: expected two merged profiles`);
	return { ids, profileId, absorbedId, items: await storedItems(ids.userId) };
}

/** Events of record whose messageId starts with a prefix, as resolved when stored. */
async function storedItems(prefix: string): Promise<DeliveryItem[]> {
	return (await recordedEvents())
		.filter((e) => e.event.messageId.startsWith(prefix))
		.sort((a, b) => (a.event.timestamp < b.event.timestamp ? -1 : 1))
		.map(({ sourceId, event }) => ({ sourceId, event }));
}

/** Calls the admin API of the Worker under test. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set("Authorization", `Bearer ${env.ADMIN_TOKEN}`);
	return exports.default.fetch(
		new Request(`https://collector.example.com${path}`, { ...init, headers }),
	);
}

/** DELETE /v1/profiles/:id, returning the answer's body. */
export async function deleteProfileViaApi(profileId: string) {
	const res = await api(`/v1/profiles/${profileId}`, { method: "DELETE" });
	if (res.status !== 200)
		throw new Error(`DELETE answered ${res.status}: ${await res.text()}`);
	return (await res.json()) as {
		deleted: { deletionId: number; removed: Record<string, number> };
		erasure: ErasureBody;
	};
}

/** GET /v1/profiles/deletions/:id, returning the erasure status. */
export async function statusOf(deletionId: number): Promise<ErasureBody> {
	const res = await api(`/v1/profiles/deletions/${deletionId}`);
	return ((await res.json()) as { erasure: ErasureBody }).erasure;
}

/** The erasure status as JSON (see src/identity/erasure-status.ts). */
export type ErasureBody = {
	complete: boolean;
	completedAt: string | null;
	stores: Record<string, Record<string, unknown> & { complete: boolean }>;
};

/** What the DELIVERIES consumer did with a batch: acks and retries, by message id. */
/** Every user table of the database, from sqlite_master: a table added later is scanned too. */
export async function userTables(): Promise<string[]> {
	const { results } = await env.DB.prepare(
		`SELECT name FROM sqlite_master WHERE type = 'table'
AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name`,
	).run<{ name: string }>();
	return results.map((row) => row.name);
}

/** Where each needle occurs in D1: "table: needle" for every table row holding it (any case). */
export async function findInD1(needlesToFind: readonly string[]) {
	const found: string[] = [];
	for (const table of await userTables()) {
		const { results } = await env.DB.prepare(`SELECT * FROM "${table}"`).run();
		const text = JSON.stringify(results).toLowerCase();
		for (const needle of needlesToFind)
			if (text.includes(needle.toLowerCase()))
				found.push(`${table}: ${needle}`);
	}
	return found;
}

/** Every archive object, read in full (gunzipped when so encoded), by key. */
export async function archiveObjects(): Promise<Map<string, string>> {
	const objects = new Map<string, string>();
	let cursor: string | undefined;
	do {
		const page = await env.ARCHIVE.list(cursor ? { cursor } : {});
		for (const { key } of page.objects) {
			const object = await env.ARCHIVE.get(key);
			if (!object) continue;
			objects.set(
				key,
				object.httpMetadata?.contentEncoding === "gzip"
					? await gunzipText(object.body)
					: await object.text(),
			);
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return objects;
}

/**
 * Where each needle occurs in R2 — the `r2` destination's archive and the events of record —:
 * "key: needle" for every object holding it (any case).
 */
export async function findInR2(needlesToFind: readonly string[]) {
	const found: string[] = [];
	const texts = [...(await archiveObjects())];
	for (const { key, event } of await recordedEvents())
		texts.push([key, JSON.stringify(event)]);
	for (const [key, text] of texts)
		for (const needle of needlesToFind)
			if (text.toLowerCase().includes(needle.toLowerCase()))
				found.push(`${key}: ${needle}`);
	return found;
}

/** The config with the erasure source and the given destinations, written to KV. */
export async function useErasureConfig(destinations: unknown[] = []) {
	await useConfig(erasureConfig(destinations));
}
