import type { Context } from "hono";
import { raw } from "hono/html";
import { countParked } from "../../db/parked";
import { spoolBacklog } from "../../db/spool";
import { ASSET_NAMES } from "../assets.generated";
import { countsSince, type MinuteCount, minuteOf } from "../counters";
import { type DestinationFigures, destinationFigures } from "../deliveries";
import type { ConsoleEnv } from "../env";
import { Layout, page } from "../views/layout";

const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60_000;

/** One source's chart data: a point per minute over 24 hours. */
interface Series {
	sourceId: string;
	minutes: number[];
	accepted: number[];
	rejected: number[];
}

/**
 * Lays the stored counts on a grid of every minute of the last 24 hours, per source.
 *
 * @example
 * seriesOf(counts, Date.now()) // [{ sourceId: "web", minutes: [...1440], accepted, rejected }]
 */
export function seriesOf(
	counts: readonly MinuteCount[],
	nowMs: number,
): Series[] {
	const end = nowMs - (nowMs % MINUTE_MS);
	const start = end - DAY_MS + MINUTE_MS;
	const minutes: number[] = [];
	for (let t = start; t <= end; t += MINUTE_MS) minutes.push(t / 1000);
	const bySource = new Map<string, Series>();
	for (const count of counts) {
		let series = bySource.get(count.sourceId);
		if (!series) {
			series = {
				sourceId: count.sourceId,
				minutes,
				accepted: minutes.map(() => 0),
				rejected: minutes.map(() => 0),
			};
			bySource.set(count.sourceId, series);
		}
		const index = (Date.parse(`${count.minute}:00Z`) - start) / MINUTE_MS;
		if (index < 0 || index >= minutes.length) continue;
		series.accepted[index] = count.accepted;
		series.rejected[index] = count.rejected;
	}
	return [...bySource.values()];
}

async function queueBacklog(queue: Queue<unknown>): Promise<string> {
	try {
		const { backlogCount } = await queue.metrics();
		return `${backlogCount} messages`;
	} catch (error) {
		// Older runtimes and some local setups have no queue metrics: say so rather than fail.
		return `unavailable (${String(error).slice(0, 80)})`;
	}
}

/**
 * The overview (`/console`): events per minute per source over 24 hours (accepted vs
 * rejected), per-destination delivered / failed / dead and p50 latency, and what waits: the
 * queues' backlog, the spool, parked items.
 *
 * @example
 * consoleRoutes.get("/", overviewPage);
 */
export async function overviewPage(c: Context<ConsoleEnv>) {
	const now = Date.now();
	const since = new Date(now - DAY_MS).toISOString();
	const [counts, destinations, spool, parked, events, deliveries] =
		await Promise.all([
			countsSince(c.env.DB, minuteOf(since)),
			destinationFigures(c.env.DB, since),
			spoolBacklog(c.env.DB),
			countParked(c.env.DB),
			queueBacklog(c.env.EVENTS),
			queueBacklog(c.env.DELIVERIES),
		]);
	const series = seriesOf(counts, now);
	const hourAgo = minuteOf(new Date(now - 60 * MINUTE_MS).toISOString());
	const totals = series.map((s) => {
		const pick = (values: number[], from: number) =>
			values.slice(from).reduce((a, b) => a + b, 0);
		const lastHour = s.minutes.findIndex(
			(m) => new Date(m * 1000).toISOString().slice(0, 16) >= hourAgo,
		);
		return {
			sourceId: s.sourceId,
			accepted: pick(s.accepted, 0),
			rejected: pick(s.rejected, 0),
			acceptedHour: pick(s.accepted, lastHour),
			rejectedHour: pick(s.rejected, lastHour),
		};
	});
	return c.html(
		page(
			<Layout
				page="overview"
				title="Overview"
				csrf={c.get("session").csrf}
				scripts={[ASSET_NAMES.overview]}
				styles={[ASSET_NAMES.uplotCss]}
			>
				<h2>Events per source, last 24 hours</h2>
				{totals.length === 0 ? (
					<p class="muted">No events in the last 24 hours.</p>
				) : (
					<div class="table-wrap">
						<table id="source-totals">
							<thead>
								<tr>
									<th scope="col">Source</th>
									<th scope="col">Accepted (24 h)</th>
									<th scope="col">Rejected (24 h)</th>
									<th scope="col">Accepted (1 h)</th>
									<th scope="col">Rejected (1 h)</th>
								</tr>
							</thead>
							<tbody>
								{totals.map((t) => (
									<tr>
										<td>{t.sourceId}</td>
										<td>{t.accepted}</td>
										<td>{t.rejected}</td>
										<td>{t.acceptedHour}</td>
										<td>{t.rejectedHour}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)}
				<div id="charts" />
				<script type="application/json" id="series-data">
					{/* JSON in a data block: escape "<" so no text can close the element. */}
					{raw(JSON.stringify(series).replaceAll("<", "\\u003c"))}
				</script>
				<h2>Destinations, last 24 hours</h2>
				<DestinationTable figures={destinations} />
				<h2>Backlog</h2>
				<dl id="backlog">
					<dt>EVENTS queue</dt>
					<dd>{events}</dd>
					<dt>DELIVERIES queue</dt>
					<dd>{deliveries}</dd>
					<dt>Ingest spool (D1)</dt>
					<dd>
						{spool.messages} messages
						{spool.oldest ? `, oldest from ${spool.oldest}` : ""}
					</dd>
					<dt>Parked</dt>
					<dd>
						{parked.event} events, {parked.delivery} deliveries
					</dd>
				</dl>
			</Layout>,
		),
	);
}

/**
 * Delivered / failed / dead / dropped / in flight and p50 latency per destination.
 *
 * @example
 * <DestinationTable figures={await destinationFigures(env.DB, since)} />
 */
export function DestinationTable(props: { figures: DestinationFigures[] }) {
	if (props.figures.length === 0)
		return <p class="muted">No deliveries in the last 24 hours.</p>;
	return (
		<div class="table-wrap">
			<table id="destination-figures">
				<thead>
					<tr>
						<th scope="col">Destination</th>
						<th scope="col">Delivered</th>
						<th scope="col">Failed</th>
						<th scope="col">Dead-lettered</th>
						<th scope="col">Dropped</th>
						<th scope="col">In flight</th>
						<th scope="col">p50 latency</th>
					</tr>
				</thead>
				<tbody>
					{props.figures.map((f) => (
						<tr>
							<td>{f.destinationId}</td>
							<td>{f.delivered}</td>
							<td>{f.failed}</td>
							<td>{f.dead}</td>
							<td>{f.dropped}</td>
							<td>{f.inFlight}</td>
							<td>{f.p50Ms === null ? "—" : `${f.p50Ms} ms`}</td>
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}
