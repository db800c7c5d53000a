import { pendingRewritesStatement } from "../archive/archive-index";
import {
	type DeletionDeliveryRow,
	deletionDeliveriesStatement,
	FINAL_STATUSES,
	profileDeliveriesLeftStatements,
} from "../db/deliveries";
import {
	type DeletionRow,
	deletionStatement,
	type Removed,
} from "./deletion-record";
import { erasedMembersStatement } from "./erased";

/** One destination's forwarding of the deletion. */
export interface ForwardingStatus {
	status: string;
	attempts?: number;
	lastStatus?: number | null;
	lastError?: string | null;
	updatedAt?: string;
}

/**
 * How far a profile deletion got, store by store. `remaining` figures are counted now, in D1;
 * `removed`/`cancelled`/`queued` are what the deletion's transaction did (null for a deletion
 * recorded before they were kept).
 */
export interface ErasureStatus {
	deletionId: number;
	profileId: string;
	/** Profiles it had absorbed, erased with it. */
	mergedProfileIds: string[];
	requestedAt: string;
	/** Every store below is complete. */
	complete: boolean;
	/** When the finishing step (minutely cron) found every store complete. */
	completedAt: string | null;
	stores: {
		/** Profiles, identities, traits, counts, groups, merges, refusals (D1). */
		profile: {
			complete: boolean;
			removed: Partial<Removed> | null;
			remaining: number;
		};
		/**
		 * The events of record (R2 RECORDS): `removed` is how many events the person had on
		 * record (their event counters), `remaining` the hour partitions still to rewrite without
		 * them (the minutely cron, archive/rewrite.ts).
		 */
		events: { complete: boolean; removed: number | null; remaining: number };
		/**
		 * The delivery log (D1): the person's failure rows, and their events in the bodies of
		 * batches in flight.
		 */
		deliveryLog: {
			complete: boolean;
			removed: number | null;
			remaining: number;
		};
		/** Events in batches in flight: cancelled before being sent. */
		pendingDeliveries: {
			complete: boolean;
			cancelled: number | null;
			remaining: number;
		};
		/** Events and deliveries the pipeline had parked (D1 `parked`), purged in the transaction. */
		parked: { complete: boolean; removed: number | null };
		/**
		 * Hour partitions (of the events of record and of the `r2` destination's archives) that
		 * held the person's events, queued by the deletion, and those of the archives still to
		 * rewrite in the background.
		 */
		archive: { complete: boolean; queued: number | null; pending: number };
		/** The deletion forwarded to each destination that deletes (hourly cron). */
		destinations: {
			complete: boolean;
			started: boolean;
			byDestination: Record<string, ForwardingStatus>;
		};
		/** The deletion record keeps only hashes of the identifiers. */
		identifiers: {
			complete: boolean;
			hashedAt: string | null;
			reason?: string;
		};
	};
}

/**
 * Reads a deletion's status (three D1 round trips: the record, its erased profile ids, then the
 * counts in one batch). Undefined when there is no such deletion.
 *
 * @example
 * (await erasureStatus(env.DB, 7))?.stores.archive // { complete: false, queued: 2, pending: 2 }
 */
export async function erasureStatus(
	db: D1Database,
	deletionId: number,
): Promise<ErasureStatus | undefined> {
	const record = await deletionStatement(db, deletionId).first<DeletionRow>();
	if (!record) return undefined;
	const { results: erasedRows } = await erasedMembersStatement(
		db,
		record.profile_id,
	).run<{ profile_id: string }>();
	const erased = erasedRows.map((r) => r.profile_id);
	// A deletion recorded before erased ids were kept knows only its own profile.
	const members = erased.length > 0 ? erased : [record.profile_id];
	const ids = JSON.stringify(members);
	const [failuresLeft, inFlightLeft] = profileDeliveriesLeftStatements(
		db,
		members,
	);
	const [
		profileLeft,
		eventsLeft,
		failuresCount,
		inFlightCount,
		archiveLeft,
		forwarding,
	] = await db.batch<Record<string, unknown>>([
		db
			.prepare(
				`SELECT (SELECT COUNT(*) FROM profiles WHERE id IN (SELECT value FROM json_each(?1)))
  + (SELECT COUNT(*) FROM identities WHERE profile_id IN (SELECT value FROM json_each(?1))) AS n`,
			)
			.bind(ids),
		pendingRewritesStatement(db, members, "RECORDS"),
		failuresLeft,
		inFlightLeft,
		pendingRewritesStatement(db, members, "ARCHIVE"),
		deletionDeliveriesStatement(db, deletionId),
	]);
	const count = (result: D1Result<Record<string, unknown>> | undefined) =>
		Number(result?.results[0]?.n ?? 0);
	const removed = parseJson<Partial<Removed>>(record.removed);
	const profileRemaining = count(profileLeft);
	const eventsRemaining = count(eventsLeft);
	const inFlight = count(inFlightCount);
	const logRemaining = count(failuresCount) + inFlight;
	const archivePending = count(archiveLeft);
	const destinations = forwardingStatus(
		record,
		(forwarding?.results ?? []) as unknown as DeletionDeliveryRow[],
	);
	const identifiers = identifiersStatus(record, destinations.byDestination);
	const stores: ErasureStatus["stores"] = {
		profile: {
			complete: profileRemaining === 0,
			removed: removed && {
				profiles: removed.profiles,
				identities: removed.identities,
				traits: removed.traits,
			},
			remaining: profileRemaining,
		},
		events: {
			complete: eventsRemaining === 0,
			removed: removed?.events ?? null,
			remaining: eventsRemaining,
		},
		deliveryLog: {
			complete: logRemaining === 0,
			removed: removed?.deliveries ?? null,
			remaining: logRemaining,
		},
		pendingDeliveries: {
			complete: inFlight === 0,
			cancelled: removed?.cancelledDeliveries ?? null,
			remaining: inFlight,
		},
		// Purged in the deletion's transaction; parked rows are read only through db/parked.ts,
		// which has no per-person count to check again here.
		parked: { complete: true, removed: removed?.parked ?? null },
		archive: {
			complete: archivePending === 0,
			queued: removed?.archiveObjects ?? null,
			pending: archivePending,
		},
		destinations,
		identifiers,
	};
	return {
		deletionId: record.id,
		profileId: record.profile_id,
		mergedProfileIds: members.filter((id) => id !== record.profile_id),
		requestedAt: record.requested_at,
		complete: Object.values(stores).every((store) => store.complete),
		completedAt: record.completed_at,
		stores,
	};
}

function forwardingStatus(
	record: DeletionRow,
	rows: readonly DeletionDeliveryRow[],
): ErasureStatus["stores"]["destinations"] {
	// The log's rows expire with the retention period; the record keeps their final statuses.
	const byDestination: Record<string, ForwardingStatus> = {};
	for (const [id, status] of Object.entries(
		parseJson<Record<string, string>>(record.forwarding) ?? {},
	))
		byDestination[id] = { status };
	for (const row of rows)
		byDestination[row.destination_id] = {
			status: row.status,
			attempts: row.attempts,
			lastStatus: row.last_status,
			lastError: row.last_error,
			updatedAt: row.updated_at,
		};
	const started = record.forwarding_started_at !== null;
	return {
		complete: started && rows.every((row) => FINAL_STATUSES.has(row.status)),
		started,
		byDestination,
	};
}

function identifiersStatus(
	record: DeletionRow,
	byDestination: Record<string, ForwardingStatus>,
): ErasureStatus["stores"]["identifiers"] {
	const hashedAt = record.identities_hashed_at;
	if (hashedAt) return { complete: true, hashedAt };
	const statuses = Object.values(byDestination).map((d) => d.status);
	const reason =
		record.forwarding_started_at === null
			? "kept in clear until the hourly cron forwards the deletion to the destinations"
			: statuses.some((s) => s === "failed" || s === "dead")
				? "kept in clear while a failed forwarding can be replayed: until it is delivered, or its failure row expires after EVENT_RETENTION_DAYS"
				: "kept in clear until every destination's deletion is final";
	return { complete: false, hashedAt: null, reason };
}

function parseJson<T>(text: string | null): T | null {
	if (text === null) return null;
	try {
		return JSON.parse(text) as T;
	} catch {
		// A record column this code did not write: reported as unknown.
		return null;
	}
}
