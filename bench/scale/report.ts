import type { BucketSize, D1Size } from "./local-state";
import { type D1Split, IDENTITY_TABLES, type UsageTotals } from "./measure";
import {
	eventsBeforeFull,
	LIMITS,
	monthlyBill,
	type PerEvent,
	PRICES,
} from "./prices";

/** Everything one run of the bench measured. */
export interface Results {
	measuredAt: string;
	load: {
		events: number;
		people: number;
		requests: number;
		batchSize: number;
		eventBytes: number;
		sample: number;
	};
	windowHours: number;
	retentionDays: number;
	eventsPerPerson: number;
	/**
	 * Distinct hours a person is active in a month, for the erasure index's projection (one
	 * row per person and active hour). Absent: `eventsPerPerson`, the most it can be.
	 */
	activeHoursPerPerson?: number;
	postMs: number;
	/** Requests sent again after a network error (the collector deduplicates them). */
	resent: number;
	endToEndMs: number;
	/** Worker CPU ms per event of each pass (workerd processes, from /proc). */
	cpu: { ingest?: number; ingestAndEvents?: number; all?: number };
	usage: UsageTotals;
	/** EVENTS messages whose usage line was seen (one message per ingest request). */
	eventsMessagesSeen: number;
	delivered: {
		events: number;
		requests: number;
		retried: number;
		duplicates: number;
	}[];
	state: { window: D1Size; pruned: D1Size; r2: Record<string, BucketSize> };
	pruneRounds: number;
	split: { window: D1Split; pruned: D1Split };
	r2: { objects: number; bytes: number; hours: number; objectsPerHour: number };
	wallSeconds: number;
}

/** The budgets of the design (docs/scaling.md), next to which the figures are printed. */
const BUDGET = {
	rowsWrittenPerEvent: 1.5,
	windowBytesPerEvent: 100,
};

const MONTHLY = [10e6, 100e6, 1e9];

function table(header: string[], rows: (string | number)[][]): string {
	const cells = [header, ...rows.map((r) => r.map(String))];
	const widths = header.map((_, i) =>
		Math.max(...cells.map((r) => (r[i] ?? "").length)),
	);
	const line = (r: string[]) =>
		r
			.map((c, i) =>
				i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
			)
			.join("  ")
			.trimEnd();
	return [
		line(header),
		line(widths.map((w) => "-".repeat(w))),
		...cells.slice(1).map(line),
	].join("\n");
}

const n = (value: number | undefined, digits = 2) =>
	value === undefined || !Number.isFinite(value)
		? value === Infinity
			? "unbounded"
			: "n/a"
		: value.toLocaleString("en-US", {
				maximumFractionDigits: digits,
				minimumFractionDigits:
					value !== 0 && Math.abs(value) < 10 ? Math.min(digits, 2) : 0,
			});
const usd = (value: number) => `$${value.toFixed(2)}`;
const check = (ok: boolean) => (ok ? "ok" : "OVER");

/**
 * The per-event figures the cost model is computed from.
 *
 * @example
 * perEventOf(results).d1RowsWritten
 */
export function perEventOf(r: Results): PerEvent {
	const events = r.load.events;
	const invocations = Object.values(r.usage.invocations).reduce(
		(a, b) => a + b,
		0,
	);
	let read = 0;
	let written = 0;
	for (const t of Object.values(r.usage.tables)) {
		read += t.rowsRead;
		written += t.rowsWritten;
	}
	return {
		requests: (r.load.requests + invocations) / events,
		cpuMs: r.cpu.all ?? 0,
		queueOperations: (3 * r.usage.queueChunks) / events,
		d1RowsRead: read / events,
		d1RowsWritten: written / events,
		r2ClassA: r.usage.r2ClassA / events,
		r2ClassB: r.usage.r2ClassB / events,
		r2Bytes: r.r2.bytes / events,
		d1WindowBytes: r.split.window.otherBytes / events,
	};
}

/**
 * D1 bytes per person: the identity graph (measured after the prune, over the generated people)
 * and the erasure index projected over the retention period (bytes per row as measured, one
 * row per active hour).
 *
 * @example
 * perPersonOf(results).total
 */
export function perPersonOf(r: Results) {
	const identity = r.split.pruned.identityBytes / r.load.people;
	const rows = r.split.window.erasureIndexRows;
	const bytesPerRow = rows > 0 ? r.split.window.erasureIndexBytes / rows : 0;
	const activeHours = r.activeHoursPerPerson ?? r.eventsPerPerson;
	const erasureIndex = bytesPerRow * activeHours * (r.retentionDays / 30.42);
	return {
		identity,
		erasureIndexRowsThisRun: rows / r.load.people,
		erasureIndexBytesPerRow: bytesPerRow,
		activeHours,
		erasureIndex,
		total: identity + erasureIndex,
	};
}

/**
 * The bench's printed report: the measured table with the budgets beside it, D1 per table,
 * the projected limits and the monthly bill.
 *
 * @example
 * console.log(report(results));
 */
export function report(r: Results): string {
	const events = r.load.events;
	const per = perEventOf(r);
	const tables = Object.entries(r.usage.tables).sort((a, b) =>
		a[0].localeCompare(b[0]),
	);
	const sumTables = (identity: boolean, field: "rowsRead" | "rowsWritten") =>
		tables
			.filter(([name]) => IDENTITY_TABLES.has(name) === identity)
			.reduce((sum, [, t]) => sum + t[field], 0) / events;
	const writtenOther = sumTables(false, "rowsWritten");
	const d1Ms = tables.reduce((sum, [, t]) => sum + t.ms, 0);
	const d1Statements = tables.reduce((sum, [, t]) => sum + t.statements, 0);
	const rowsWrittenAll = tables.reduce((sum, [, t]) => sum + t.rowsWritten, 0);
	const person = perPersonOf(r);
	const bytesPerPerson = person.total;
	const bytesPerProfile =
		r.split.pruned.identityBytes / Math.max(1, r.split.pruned.profiles);
	const eventsPerObject = r.r2.objects > 0 ? events / r.r2.objects : 0;
	const cpuEvents =
		r.cpu.ingestAndEvents !== undefined && r.cpu.ingest !== undefined
			? r.cpu.ingestAndEvents - r.cpu.ingest
			: undefined;
	const cpuDeliveries =
		r.cpu.all !== undefined && r.cpu.ingestAndEvents !== undefined
			? r.cpu.all - r.cpu.ingestAndEvents
			: undefined;
	const out: string[] = [];

	out.push(
		`Conduit scale benchmark — ${n(events, 0)} events from ${n(r.load.people, 0)} people (${n(r.load.eventBytes, 0)} B of JSON each), ${n(r.load.requests, 0)} requests of ${r.load.batchSize}, three webhook destinations; wrangler dev, local workerd; measured ${r.measuredAt}; ${n(r.wallSeconds, 0)} s in all`,
		`accepted in ${n(r.postMs / 1000, 1)} s (${n(events / (r.postMs / 1000), 0)} events/s, ${r.resent} requests sent again after a network error); stored and delivered to all three ${n(r.endToEndMs / 1000, 1)} s after the start`,
		r.eventsMessagesSeen < r.load.requests
			? `WARNING: usage lines seen for ${r.eventsMessagesSeen} of ${r.load.requests} EVENTS messages; the rows and operations below are short by what the others cost`
			: `usage lines seen for all ${r.load.requests} EVENTS messages`,
		"",
		table(
			["figure", "measured", "budget", ""],
			[
				[
					"D1 rows written per event, identity excluded",
					n(writtenOther),
					`≤ ${BUDGET.rowsWrittenPerEvent}`,
					check(writtenOther <= BUDGET.rowsWrittenPerEvent),
				],
				[
					"…of which failure rows of the delivery log (sends retried)",
					n((r.usage.tables.delivery_failures?.rowsWritten ?? 0) / events),
					"",
					"",
				],
				[
					"D1 rows written per event, identity tables",
					n(sumTables(true, "rowsWritten")),
					"",
					"",
				],
				[
					"D1 rows read per event, identity excluded",
					n(sumTables(false, "rowsRead")),
					"",
					"",
				],
				[
					"D1 rows read per event, identity tables",
					n(sumTables(true, "rowsRead")),
					"",
					"",
				],
				[
					"D1 bytes per event inside the window",
					n(per.d1WindowBytes, 1),
					`≤ ${BUDGET.windowBytesPerEvent}`,
					check(per.d1WindowBytes <= BUDGET.windowBytesPerEvent),
				],
				[
					`D1 rows left after the prune (${r.pruneRounds} cron rounds), identity and erasure index excluded`,
					n(r.split.pruned.otherRows, 0),
					"per-batch logs only",
					"",
				],
				["D1 bytes per person (identity graph)", n(person.identity, 0), "", ""],
				[
					"D1 erasure index: rows per person in this run; bytes per row",
					`${n(person.erasureIndexRowsThisRun, 2)}; ${n(person.erasureIndexBytesPerRow, 0)}`,
					"",
					"",
				],
				[
					`D1 erasure index per person over ${r.retentionDays} days at ${n(person.activeHours, 0)} active hours a month`,
					n(person.erasureIndex, 0),
					"",
					"",
				],
				["D1 bytes per profile row", n(bytesPerProfile, 0), "", ""],
				["R2 bytes per event", n(per.r2Bytes, 1), "", ""],
				["R2 events per object", n(eventsPerObject, 0), "", ""],
				[
					"R2 Class A operations per million events",
					n(per.r2ClassA * 1e6, 0),
					"",
					"",
				],
				[
					"R2 Class B operations per million events",
					n(per.r2ClassB * 1e6, 0),
					"",
					"",
				],
				[
					"Queue operations per event (64 KB chunks × write, read, delete)",
					n(per.queueOperations, 3),
					"",
					"",
				],
				[
					"Worker invocations per event (ingest requests + consumer batches)",
					n(per.requests, 3),
					"",
					"",
				],
				["Worker CPU ms per event: ingest", n(r.cpu.ingest, 3), "", ""],
				["Worker CPU ms per event: EVENTS consumer", n(cpuEvents, 3), "", ""],
				[
					"Worker CPU ms per event: DELIVERIES consumer",
					n(cpuDeliveries, 3),
					"",
					"",
				],
				[
					"D1 busy ms per event (round trips, all consumers)",
					n(d1Ms / events, 3),
					"",
					"",
				],
				[
					"D1 rows written per second of D1 time (local)",
					n(rowsWrittenAll / (d1Ms / 1000), 0),
					"",
					"",
				],
				[
					"D1 statements per event; ms per statement",
					`${n(d1Statements / events, 3)}; ${n(d1Ms / Math.max(1, d1Statements), 2)}`,
					"",
					"",
				],
			],
		),
		`D1 rows left after the prune, identity and erasure index excluded: ${
			Object.entries(r.split.pruned.otherTables)
				.map(([t, rows]) => `${t} ${n(rows, 0)}`)
				.join(", ") || "none"
		}`,
		`Erasure index at the bench's own ${n(r.load.events / Math.max(1, r.split.window.erasureIndexRows), 1)} events per person and hour (${n(r.eventsPerPerson / (r.load.events / Math.max(1, r.split.window.erasureIndexRows)), 1)} active hours a month): ${n(person.erasureIndexBytesPerRow * (r.eventsPerPerson / (r.load.events / Math.max(1, r.split.window.erasureIndexRows))) * (r.retentionDays / 30.42), 0)} B per person`,
		"",
		"Delivered: " +
			r.delivered
				.map(
					(d, i) =>
						`hook-${i + 1} ${n(d.events, 0)} events in ${n(d.requests, 0)} requests (${d.retried} retries of a webhook-id already answered), ${d.duplicates} duplicates`,
				)
				.join("; "),
		"",
		"D1 per table (rows per event from the consumers' usage lines; bytes from the local file inside the window and after the prune):",
		table(
			[
				"table",
				"written/event",
				"read/event",
				"rows (window)",
				"bytes/event (window)",
				"rows (pruned)",
				"bytes (pruned)",
			],
			[
				...new Set([
					...tables.map(([t]) => t),
					...Object.keys(r.state.window.tables),
				]),
			]
				.sort()
				.filter(
					(name) =>
						r.usage.tables[name] ||
						(r.state.window.tables[name]?.rows ?? 0) > 0 ||
						(r.state.pruned.tables[name]?.rows ?? 0) > 0,
				)
				.map((name) => {
					const usage = r.usage.tables[name];
					const w = r.state.window.tables[name];
					const p = r.state.pruned.tables[name];
					return [
						`${name}${IDENTITY_TABLES.has(name) ? " (identity)" : ""}`,
						n((usage?.rowsWritten ?? 0) / events, 3),
						n((usage?.rowsRead ?? 0) / events, 3),
						n(w?.rows ?? 0, 0),
						n(((w?.tableBytes ?? 0) + (w?.indexBytes ?? 0)) / events, 1),
						n(p?.rows ?? 0, 0),
						n((p?.tableBytes ?? 0) + (p?.indexBytes ?? 0), 0),
					];
				}),
		),
		`D1 file: ${n(r.state.window.fileBytes / 1e6, 1)} MB inside the window, ${n(r.state.pruned.fileBytes / 1e6, 1)} MB after the prune, of which ${n(r.state.pruned.freeBytes / 1e6, 1)} MB free pages`,
		"",
	);

	const full = eventsBeforeFull({
		d1WindowBytes: per.d1WindowBytes,
		d1BytesPerPerson: bytesPerPerson,
		windowHours: r.windowHours,
		eventsPerPerson: r.eventsPerPerson,
	});
	const writerEventsPerSecond = d1Ms > 0 ? (1000 * events) / d1Ms : Infinity;
	out.push(
		`Projected limits (one D1 database of ${LIMITS.d1DatabaseBytes / 1e9} GB; window ${r.windowHours} h; ${r.eventsPerPerson} events per person a month):`,
		table(
			["limit", "value"],
			[
				[
					"D1 size = people × bytes per person + events per window × bytes per event",
					`people × ${n(bytesPerPerson, 0)} B + events in ${r.windowHours} h × ${n(per.d1WindowBytes, 1)} B`,
				],
				["events a month before D1 reaches 10 GB", n(full, 0)],
				[
					"…of which the window's share of D1 at that volume",
					`${n(
						full === Infinity
							? 0
							: ((per.d1WindowBytes * full * (r.windowHours / 730)) /
									LIMITS.d1DatabaseBytes) *
									100,
						1,
					)} %`,
				],
				[
					"people per D1 database (identity graph and erasure index)",
					n(LIMITS.d1DatabaseBytes / bytesPerPerson, 0),
				],
				[
					"sustained events/s of the single D1 writer (local D1 time)",
					n(writerEventsPerSecond, 0),
				],
				["…as events a month", n(writerEventsPerSecond * 3600 * 730, 0)],
			],
		),
		"",
	);

	const bills = MONTHLY.map((eventsPerMonth) =>
		monthlyBill(per, {
			eventsPerMonth,
			people: eventsPerMonth / r.eventsPerPerson,
			d1BytesPerPerson: bytesPerPerson,
			windowHours: r.windowHours,
			retentionDays: r.retentionDays,
		}),
	);
	const line = (
		name: string,
		pick: (b: (typeof bills)[number]) => number,
		money = true,
	) => [name, ...bills.map((b) => (money ? usd(pick(b)) : n(pick(b), 1)))];
	out.push(
		`Monthly bill on Workers Paid, prices read ${PRICES.read} (${r.retentionDays} days in R2; people = events ÷ ${r.eventsPerPerson}; R2 objects per hour at 10 M/100 M/1 B: ${MONTHLY.map((e) => n(eventsPerObject > 0 ? e / 730 / eventsPerObject : 0, 0)).join(" / ")}):`,
		table(
			["line", "10 M events", "100 M events", "1 B events"],
			[
				line("Workers subscription", (b) => b.subscription),
				line("Workers requests", (b) => b.workersRequests),
				line("Workers CPU", (b) => b.workersCpu),
				line("Queues operations", (b) => b.queues),
				line("D1 rows read and written", (b) => b.d1Rows),
				line("D1 storage", (b) => b.d1Storage),
				line("R2 operations", (b) => b.r2Operations),
				line("R2 storage", (b) => b.r2Storage),
				line("total", (b) => b.total),
				line("D1 size, GB (limit 10 per database)", (b) => b.d1Gb, false),
				line("R2 size, GB", (b) => b.r2Gb, false),
			],
		),
	);
	return out.join("\n");
}
