import type { WireObject } from "@conduit/protocol";
import type { EnrichedEvent } from "../event";
import { pack } from "../ingest/message";
import type { CompiledAudience } from "./plan";
import type { ProfileState } from "./state";
import type { TransitionRow } from "./store";

/*
 * Activation: an entry or exit becomes two events from the audiences source, queued on EVENTS
 * like any accepted event, so they are stored, deduplicated, resolved and fanned out with every
 * destination's filters, mapping and consent rules, and retried like the rest:
 *
 * - track `Audience Entered` / `Audience Exited`, properties { audience_key, audience_name };
 * - identify with the trait `<audience_key>: true | false` (Segment's convention).
 *
 * Their messageIds are derived from (audience, profile, transition number), so computing the
 * same transition again (a retried batch, a lost race) queues the same ids, which storage drops.
 */

/** The event names activation sends. */
export const ENTERED = "Audience Entered";
export const EXITED = "Audience Exited";

/** The library activation events name in their context. */
const LIBRARY = { name: "conduit-audiences", version: "1" };

/** An entry or exit, and the events that announce it. */
export interface Activation {
	row: TransitionRow;
	events: EnrichedEvent[];
}

/**
 * Records whether the profile is in `audience` now; when that changed, returns the transition
 * and its two events (none when the profile has no userId or anonymousId to be found by).
 *
 * @example
 * await transition(state, "prof_1", audience, true, new Date()) // { row: { kind: "entered", … }, events: [track, identify] }
 */
export async function transition(
	state: ProfileState,
	profileId: string,
	audience: CompiledAudience,
	inside: boolean,
	now: Date,
): Promise<Activation | undefined> {
	const before = state.m[audience.key];
	if ((before?.[0] === 1) === inside) return undefined;
	const n = (before?.[1] ?? 0) + 1;
	const at = now.toISOString();
	state.m[audience.key] = [inside ? 1 : 0, n, at];
	const kind = inside ? "entered" : "exited";
	const seed = `${audience.key}\n${profileId}\n${n}`;
	const [trackId, identifyId] = await Promise.all([
		messageIdOf(`${seed}\ntrack`),
		messageIdOf(`${seed}\nidentify`),
	]);
	const row = {
		audienceKey: audience.key,
		profileId,
		kind,
		at,
		messageId: trackId,
	} as const;
	const [, userId, anonymousId] = state.i ?? [];
	if (!userId && !anonymousId) return { row, events: [] };
	const base = {
		timestamp: at,
		receivedAt: at,
		...(userId && { userId }),
		...(anonymousId && { anonymousId }),
		context: contextOf(state, profileId),
		...(audience.destinations && {
			integrations: {
				All: false,
				...Object.fromEntries(audience.destinations.map((d) => [d, true])),
			},
		}),
	};
	return {
		row,
		events: [
			{
				...base,
				type: "track",
				event: inside ? ENTERED : EXITED,
				messageId: trackId,
				properties: {
					audience_key: audience.key,
					audience_name: audience.name,
				},
			},
			{
				...base,
				type: "identify",
				messageId: identifyId,
				traits: { [audience.key]: inside },
			},
		],
	};
}

/** The profile id, and its latest consent: what consent gating reads in fan-out. */
function contextOf(state: ProfileState, profileId: string): WireObject {
	const context: WireObject = { profileId, library: LIBRARY };
	if (state.c) {
		context.consent = { categoryPreferences: state.c[1] };
		if (state.c[2]) context.gpc = true;
	}
	return context;
}

/** `aud_` and 32 hex digits of a SHA-256: stable for the same transition. */
async function messageIdOf(seed: string): Promise<string> {
	const digest = await crypto.subtle.digest(
		"SHA-256",
		new TextEncoder().encode(`conduit-audiences\n${seed}`),
	);
	return `aud_${[...new Uint8Array(digest).slice(0, 16)]
		.map((b) => b.toString(16).padStart(2, "0"))
		.join("")}`;
}

/**
 * Queues activation events on EVENTS as the audiences source's messages (ingest's packing).
 * Must pass: a refusal throws, and the caller's work is retried with the same messageIds.
 *
 * @example
 * await enqueueActivations(env.EVENTS, "audiences", events)
 */
export async function enqueueActivations(
	queue: Queue,
	sourceId: string,
	events: readonly EnrichedEvent[],
): Promise<void> {
	if (events.length === 0) return;
	const messages = pack(
		sourceId,
		events.map((e) => JSON.stringify(e)),
	);
	await Promise.all(
		messages.map((body) => queue.send(body, { contentType: "text" })),
	);
}
