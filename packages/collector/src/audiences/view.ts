import type { LoadedConfig } from "../config/schema";
import type { Scalar } from "./aggregate";
import { computedTraits } from "./evaluate";
import { planOf } from "./stage";
import { emptyState, mergeStates } from "./state";
import {
	type AudienceCounts,
	audienceCounts,
	profileAudienceRows,
} from "./store";

/** What the profile API shows of a profile's audiences. */
export interface ProfileAudiences {
	/** The configured computed traits, as of the request. */
	computedTraits: Record<string, Scalar | null>;
	/** The audiences the profile is in, and since when. */
	audiences: { key: string; name: string; enteredAt: string }[];
}

/**
 * A profile's computed traits (windows read at `now`; profiles merged into it count) and
 * audiences.
 *
 * @example
 * await profileAudiences(env.DB, config, "prof_1", new Date())
 * // { computedTraits: { lifetime_value: 120 }, audiences: [{ key: "high_value", name: "…", enteredAt: "…" }] }
 */
export async function profileAudiences(
	db: D1Database,
	config: LoadedConfig,
	profileId: string,
	now: Date,
): Promise<ProfileAudiences> {
	const plan = planOf(config);
	const { state, absorbed, members } = await profileAudienceRows(db, profileId);
	const names = new Map(
		(config.config.audiences?.definitions ?? []).map((a) => [a.key, a.name]),
	);
	const combined = absorbed.reduce(
		(into, other) => mergeStates(into, other, plan),
		state ?? emptyState(),
	);
	return {
		computedTraits: computedTraits(combined, plan, now.getTime()),
		audiences: members.map((m) => ({
			key: m.audienceKey,
			name: names.get(m.audienceKey) ?? m.audienceKey,
			enteredAt: m.enteredAt,
		})),
	};
}

/** One audience as the admin API lists it. */
export interface AudienceSummary extends AudienceCounts {
	key: string;
	name: string;
	enabled: boolean;
	destinations: readonly string[] | null;
}

/**
 * Every configured audience with its size and its entries and exits in the 24 hours before `now`.
 *
 * @example
 * await listAudiences(env.DB, config, new Date()) // [{ key: "cart_abandoners", size: 12, entered: 15, exited: 3, … }]
 */
export async function listAudiences(
	db: D1Database,
	config: LoadedConfig,
	now: Date,
): Promise<AudienceSummary[]> {
	const definitions = config.config.audiences?.definitions ?? [];
	if (definitions.length === 0) return [];
	const counts = await audienceCounts(
		db,
		definitions.map((a) => a.key),
		new Date(now.getTime() - 86_400_000),
	);
	return definitions.map((a) => ({
		key: a.key,
		name: a.name,
		enabled: a.enabled,
		destinations: a.destinations ?? null,
		...(counts.get(a.key) ?? { size: 0, entered: 0, exited: 0 }),
	}));
}
