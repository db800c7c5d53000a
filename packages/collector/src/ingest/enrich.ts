import type { WireEvent, WireObject } from "@conduit/protocol";
import { UNSAFE_KEYS } from "@conduit/protocol";
import { ulid } from "ulid";
import type { Source } from "../config/schema";
import type { EnrichedEvent } from "../event";
import { sourceTrust } from "../identity/trust";
import { campaignFromUrl } from "./enrich/campaign";
import { applyIpPolicy } from "./enrich/ip";
import { EnrichmentNotes } from "./enrich/notes";
import { classifyReferrer } from "./enrich/referrer";
import { correctTimestamps } from "./enrich/timestamps";
import { parseUserAgent } from "./enrich/user-agent";

/*
 * Stage 2 of the pipeline — best effort. Ids and timestamps are always set; every lookup after
 * that (IP, location, user agent, campaign, referrer, bot) fills only what the client left
 * empty, and a failure in one is logged and skipped, never a reason to lose the event. What
 * enrichment adds is bounded (see enrich/notes.ts and enrich/fit.ts), so an accepted event
 * always fits `LIMITS.maxEnrichedEventBytes`.
 */

/**
 * Fields the collector owns: whatever a client sends in them is removed or overwritten here,
 * at ingest, before anything reads the event.
 * - `receivedAt`: when the collector received the event (overwritten).
 * - `timestamp`: recomputed from the client's times (clock-skew correction, overwritten); the
 *   client's own value is kept as `originalTimestamp`.
 * - `context.profileId`: the profile identity resolution assigned (removed; set by the consumer).
 * - `context.isBot`: the collector's bot verdict (removed, then set).
 * - `context.enrichment`: what enrichment cut to stay within the limits (removed, then set).
 * Enrichment also fills `context.ip` by the source's IP policy, and `userAgent`, `browser`,
 * `os`, `device`, `location`, `campaign`, `referrer` and `gpc` where the client left them
 * empty: those stay the client's to send (server libraries relay them for their users).
 *
 * @example
 * SERVER_OWNED_CONTEXT.includes("profileId") // true
 */
export const SERVER_OWNED_CONTEXT = [
	"profileId",
	"isBot",
	"enrichment",
] as const;

/** What the request tells about its sender, read once per request. */
export interface RequestFacts {
	/** When the request arrived, as ISO-8601 and as epoch milliseconds. */
	receivedAt: string;
	receivedAtMs: number;
	/** CF-Connecting-IP: the address the request came from. */
	ip?: string;
	/** The request's own User-Agent header. */
	userAgent?: string;
	/** The request came from a browser page (it carried an Origin header). */
	fromBrowser: boolean;
	/** Sec-GPC: 1 — the browser sends Global Privacy Control. */
	gpc: boolean;
	cf?: RequestCfFacts;
}

/** The parts of `request.cf` enrichment reads. */
export interface RequestCfFacts {
	country?: string;
	region?: string;
	city?: string;
	timezone?: string;
	asn?: number;
	colo?: string;
	botManagement?: { score?: number; verifiedBot?: boolean };
}

/** Cloudflare's bot score runs 1 (certainly automated) to 99 (certainly human); under 30 is "likely automated". */
const BOT_SCORE_THRESHOLD = 30;

/**
 * Completes a validated event: ids, receive time, skew-corrected timestamp, IP by the source's
 * policy, location, parsed user agent, campaign, referrer class, bot flag and GPC.
 *
 * @example
 * const event = enrichEvent(validated, facts, source);
 * event.context.campaign // { source: "facebook", medium: "social", … }
 */
export function enrichEvent(
	input: WireEvent,
	facts: RequestFacts,
	source: Source,
): EnrichedEvent {
	const context: WireObject = input.context ? { ...input.context } : {};
	for (const key of SERVER_OWNED_CONTEXT) delete context[key];
	const notes = new EnrichmentNotes();
	const { receivedAt } = facts;
	const times = correctTimestamps(input, facts.receivedAtMs);
	const event: EnrichedEvent = {
		...input,
		messageId: input.messageId ?? ulid(facts.receivedAtMs),
		receivedAt,
		timestamp: times.timestamp,
		context,
	};
	if (times.originalTimestamp)
		event.originalTimestamp = times.originalTimestamp;

	const ip = applyIpPolicy(
		typeof context.ip === "string" ? context.ip : facts.ip,
		source.ipPolicy,
	);
	if (ip) context.ip = ip;
	else delete context.ip;

	// Cloudflare's bot verdict is about whoever sent the request: it speaks for the event only
	// when that sender is the event's user agent (a browser), not a server relaying events.
	let botManagement =
		typeof context.userAgent === "string" &&
		context.userAgent === facts.userAgent
			? facts.cf?.botManagement
			: undefined;
	if (
		facts.fromBrowser &&
		typeof context.userAgent !== "string" &&
		facts.userAgent
	) {
		// The header may be as long as the runtime lets a request be: the event takes a bounded part.
		context.userAgent = notes.cap(facts.userAgent, "userAgent");
		botManagement = facts.cf?.botManagement;
	}
	if (facts.gpc) context.gpc = true;

	// Where the request came from says where the event happened only when the device itself
	// sent it: not for a server source relaying events, nor for an event that names another IP.
	const sentByDevice =
		sourceTrust(source) === "client" &&
		(typeof input.context?.ip !== "string" || input.context.ip === facts.ip);
	if (sentByDevice)
		bestEffort("location", () => addLocation(context, facts.cf, notes));
	bestEffort("user-agent", () => addUserAgent(context, botManagement));
	bestEffort("campaign", () => addCampaignAndReferrer(context, notes));
	notes.writeTo(context);
	return event;
}

function bestEffort(step: string, run: () => void): void {
	try {
		run();
	} catch (error) {
		console.warn(
			JSON.stringify({
				msg: "enrichment step failed",
				step,
				error: String(error),
			}),
		);
	}
}

function addLocation(
	context: WireObject,
	cf: RequestCfFacts | undefined,
	notes: EnrichmentNotes,
): void {
	if (!cf) return;
	const found: WireObject = {};
	for (const key of [
		"country",
		"region",
		"city",
		"timezone",
		"asn",
		"colo",
	] as const) {
		if (cf[key] !== undefined && cf[key] !== "") found[key] = cf[key];
	}
	if (Object.keys(found).length === 0) return;
	context.location = fillMissing(
		objectAt(context, "location"),
		notes.capStrings(found, "location"),
	);
}

function addUserAgent(
	context: WireObject,
	bm: RequestCfFacts["botManagement"],
): void {
	const userAgent =
		typeof context.userAgent === "string" ? context.userAgent : undefined;
	const parsed = userAgent ? parseUserAgent(userAgent) : undefined;
	if (parsed?.browser)
		context.browser = fillMissing(objectAt(context, "browser"), parsed.browser);
	if (parsed?.os) context.os = fillMissing(objectAt(context, "os"), parsed.os);
	if (parsed?.device)
		context.device = fillMissing(objectAt(context, "device"), parsed.device);
	const cfSaysBot =
		bm?.verifiedBot === true ||
		(typeof bm?.score === "number" && bm.score < BOT_SCORE_THRESHOLD);
	context.isBot = Boolean(parsed?.isBot || cfSaysBot);
}

function addCampaignAndReferrer(
	context: WireObject,
	notes: EnrichmentNotes,
): void {
	const page = objectAt(context, "page");
	const url = typeof page.url === "string" ? page.url : undefined;
	const search = typeof page.search === "string" ? page.search : undefined;
	if (context.campaign === undefined) {
		const campaign = campaignFromUrl(url, search);
		if (campaign) context.campaign = notes.capStrings(campaign, "campaign");
	}
	if (
		context.referrer === undefined &&
		(url || typeof page.referrer === "string")
	) {
		const campaign = objectAt(context, "campaign");
		const medium =
			typeof campaign.medium === "string" ? campaign.medium : undefined;
		const referrer =
			typeof page.referrer === "string" ? page.referrer : undefined;
		context.referrer = notes.capStrings(
			classifyReferrer(referrer, url, medium),
			"referrer",
		);
	}
}

/** What objectAt answers when there is no object: shared, never written to. */
const EMPTY: WireObject = Object.freeze({});

function objectAt(parent: WireObject, key: string): WireObject {
	const value = parent[key];
	return typeof value === "object" && value !== null && !Array.isArray(value)
		? (value as WireObject)
		: EMPTY;
}

/** A copy of `target` with the keys it lacks taken from `extra`: what the client sent wins. */
function fillMissing(target: WireObject, extra: object): WireObject {
	const merged: WireObject = { ...extra };
	if (target === EMPTY) return merged;
	for (const [key, value] of Object.entries(target)) {
		if (
			!UNSAFE_KEYS.has(key) &&
			value !== undefined &&
			value !== null &&
			value !== ""
		)
			merged[key] = value;
	}
	return merged;
}
