/**
 * Cloudflare's published prices and limits (Workers Paid, Standard usage model), each with the
 * page it was read from on 2026-12-01. docs/scaling.md cites the same pages.
 */
export const PRICES = {
	read: "2026-12-01",
	workers: {
		source: "https://developers.cloudflare.com/workers/platform/pricing/",
		subscription: 5,
		includedRequests: 10e6,
		perMillionRequests: 0.3,
		includedCpuMs: 30e6,
		perMillionCpuMs: 0.02,
	},
	queues: {
		source: "https://developers.cloudflare.com/queues/platform/pricing/",
		includedOperations: 1e6,
		perMillionOperations: 0.4,
	},
	d1: {
		source: "https://developers.cloudflare.com/d1/platform/pricing/",
		includedRowsRead: 25e9,
		perMillionRowsRead: 0.001,
		includedRowsWritten: 50e6,
		perMillionRowsWritten: 1.0,
		includedGb: 5,
		perGbMonth: 0.75,
	},
	r2: {
		source: "https://developers.cloudflare.com/r2/pricing/",
		includedGb: 10,
		perGbMonth: 0.015,
		includedClassA: 1e6,
		perMillionClassA: 4.5,
		includedClassB: 10e6,
		perMillionClassB: 0.36,
	},
} as const;

export const LIMITS = {
	source: "https://developers.cloudflare.com/d1/platform/limits/",
	/** Maximum size of one D1 database (Workers Paid); it cannot be raised. */
	d1DatabaseBytes: 10e9,
	/** D1 databases per account (Workers Paid). */
	d1Databases: 50_000,
} as const;

/** What one event costs, as measured; everything per accepted event. */
export interface PerEvent {
	/** Worker invocations: ingest requests plus consumer invocations. */
	requests: number;
	cpuMs: number;
	queueOperations: number;
	d1RowsRead: number;
	d1RowsWritten: number;
	r2ClassA: number;
	r2ClassB: number;
	/** R2 bytes stored per event, kept for `retentionDays`. */
	r2Bytes: number;
	/** D1 bytes per event while it is inside its window, kept for `windowHours`. */
	d1WindowBytes: number;
}

/** The shape of the workload the bill is computed for. */
export interface Workload {
	eventsPerMonth: number;
	/** People in the identity graph. */
	people: number;
	d1BytesPerPerson: number;
	windowHours: number;
	retentionDays: number;
}

export interface Bill {
	workersRequests: number;
	workersCpu: number;
	queues: number;
	d1Rows: number;
	d1Storage: number;
	r2Operations: number;
	r2Storage: number;
	subscription: number;
	total: number;
	/** Steady-state D1 and R2 sizes the storage lines are for. */
	d1Gb: number;
	r2Gb: number;
}

const HOURS_PER_MONTH = 730;
const over = (used: number, included: number, perMillion: number) =>
	(Math.max(0, used - included) / 1e6) * perMillion;

/**
 * The monthly bill for a workload at the measured per-event costs, on Workers Paid: usage
 * beyond each included allowance at the published rate, plus the $5 subscription. Storage is
 * the steady state: the identity graph, the events inside the D1 window, and R2 holding
 * `retentionDays` of events.
 *
 * @example
 * monthlyBill(perEvent, { eventsPerMonth: 100e6, people: 5e6, d1BytesPerPerson: 1000, windowHours: 48, retentionDays: 30 }).total
 */
export function monthlyBill(perEvent: PerEvent, workload: Workload): Bill {
	const e = workload.eventsPerMonth;
	const { workers, queues, d1, r2 } = PRICES;
	const d1Bytes =
		workload.people * workload.d1BytesPerPerson +
		perEvent.d1WindowBytes * e * (workload.windowHours / HOURS_PER_MONTH);
	const r2Bytes =
		perEvent.r2Bytes * e * ((workload.retentionDays * 24) / HOURS_PER_MONTH);
	const bill = {
		workersRequests: over(
			e * perEvent.requests,
			workers.includedRequests,
			workers.perMillionRequests,
		),
		workersCpu: over(
			e * perEvent.cpuMs,
			workers.includedCpuMs,
			workers.perMillionCpuMs,
		),
		queues: over(
			e * perEvent.queueOperations,
			queues.includedOperations,
			queues.perMillionOperations,
		),
		d1Rows:
			over(
				e * perEvent.d1RowsRead,
				d1.includedRowsRead,
				d1.perMillionRowsRead,
			) +
			over(
				e * perEvent.d1RowsWritten,
				d1.includedRowsWritten,
				d1.perMillionRowsWritten,
			),
		d1Storage: Math.max(0, d1Bytes / 1e9 - d1.includedGb) * d1.perGbMonth,
		r2Operations:
			over(e * perEvent.r2ClassA, r2.includedClassA, r2.perMillionClassA) +
			over(e * perEvent.r2ClassB, r2.includedClassB, r2.perMillionClassB),
		r2Storage: Math.max(0, r2Bytes / 1e9 - r2.includedGb) * r2.perGbMonth,
		subscription: workers.subscription,
	};
	const total = Object.values(bill).reduce((a, b) => a + b, 0);
	return { ...bill, total, d1Gb: d1Bytes / 1e9, r2Gb: r2Bytes / 1e9 };
}

/**
 * Events a month one D1 database holds before it reaches 10 GB, for people sending
 * `eventsPerPerson` events a month: the identity graph grows with people, the window with
 * events. Infinity when nothing in D1 grows with events.
 *
 * @example
 * eventsBeforeFull({ d1WindowBytes: 60, d1BytesPerPerson: 1000, windowHours: 48, eventsPerPerson: 20 })
 */
export function eventsBeforeFull(input: {
	d1WindowBytes: number;
	d1BytesPerPerson: number;
	windowHours: number;
	eventsPerPerson: number;
}): number {
	const perEvent =
		input.d1WindowBytes * (input.windowHours / HOURS_PER_MONTH) +
		input.d1BytesPerPerson / input.eventsPerPerson;
	return perEvent > 0 ? LIMITS.d1DatabaseBytes / perEvent : Infinity;
}
