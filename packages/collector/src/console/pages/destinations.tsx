import { Hono } from "hono";
import { loadConfig } from "../../config/load";
import { disabledDestinations } from "../../db/destination-state";
import { type ReplayResult, replay } from "../../delivery/replay";
import {
	destinationFigures,
	type FailedDelivery,
	failedDeliveries,
} from "../deliveries";
import type { ConsoleEnv } from "../env";
import { Layout, page } from "../views/layout";
import { DestinationTable } from "./overview";

/** Replay pages taken per click (1,000 rows each), like `npm run replay` without its loop's end. */
const MAX_REPLAY_PAGES = 20;

/**
 * The destinations page (`/console/destinations`): each destination's status, figures, recent
 * failures with the vendor's answer and dead letters, and a replay button
 * (`POST /console/destinations/:id/replay`) with the semantics of `npm run replay`: failed and
 * dead rows are re-queued, rebuilt from the stored events, and a destination a 410 switched
 * off is switched on again.
 *
 * @example
 * consoleRoutes.route("/destinations", destinationRoutes);
 */
export const destinationRoutes = new Hono<ConsoleEnv>();

destinationRoutes.get("/", async (c) => {
	const config = await loadConfig(c.env);
	const since = new Date(Date.now() - 24 * 60 * 60 * 1000).toISOString();
	const [figures, disabled] = await Promise.all([
		destinationFigures(c.env.DB, since),
		disabledDestinations(c.env.DB),
	]);
	const destinations = await Promise.all(
		config.config.destinations.map(async (d) => ({
			id: d.id,
			type: d.type,
			enabled: d.enabled,
			switchedOff: disabled.has(d.id),
			failures: await failedDeliveries(
				c.env.DB,
				d.id,
				["failed", "retrying"],
				20,
			),
			dead: await failedDeliveries(c.env.DB, d.id, ["dead"], 20),
		})),
	);
	const replayed = c.req.query("replayed");
	const csrf = c.get("session").csrf;
	return c.html(
		page(
			<Layout page="destinations" title="Destinations" csrf={csrf}>
				{replayed ? (
					<p class="ok" role="status" id="replay-result">
						{replayed}
					</p>
				) : null}
				<h2>Last 24 hours</h2>
				<DestinationTable figures={figures} />
				{destinations.map((d) => (
					<section aria-labelledby={`dest-${d.id}`} class="destination">
						<h2 id={`dest-${d.id}`}>
							{d.id} <span class="muted">({d.type})</span>
						</h2>
						<p>
							Status:{" "}
							{!d.enabled ? (
								<span class="muted">disabled in the config</span>
							) : d.switchedOff ? (
								<span class="error">
									switched off by its receiver (410); a replay switches it on
								</span>
							) : (
								<span class="ok">enabled</span>
							)}
						</p>
						<h3>Recent failures</h3>
						<Failures rows={d.failures} label={`Recent failures of ${d.id}`} />
						<h3>Dead letters</h3>
						<Failures rows={d.dead} label={`Dead letters of ${d.id}`} />
						<form
							method="post"
							action={`/console/destinations/${encodeURIComponent(d.id)}/replay`}
						>
							<input type="hidden" name="_csrf" value={csrf} />
							<button type="submit">
								Replay failed and dead deliveries to {d.id}
							</button>
						</form>
					</section>
				))}
			</Layout>,
		),
	);
});

destinationRoutes.post("/:id/replay", async (c) => {
	const config = await loadConfig(c.env);
	const destination = c.req.param("id");
	const total: ReplayResult = { replayed: 0, missing: 0, reenabled: false };
	let after: number | string = 0;
	for (let pageNo = 0; pageNo < MAX_REPLAY_PAGES; pageNo++) {
		const result = await replay(
			c.env,
			config,
			{ destination, status: ["failed", "dead"], after, limit: 1000 },
			new Date(),
		);
		total.replayed += result.replayed;
		total.missing += result.missing;
		total.reenabled ||= result.reenabled;
		if (result.next === undefined) break;
		after = result.next;
		total.next = result.next;
	}
	const message = `Replayed ${total.replayed} deliveries to ${destination}${
		total.missing > 0 ? ` (${total.missing} events no longer stored)` : ""
	}${total.reenabled ? "; the destination is switched on again" : ""}${
		total.next !== undefined ? "; more remain: replay again" : ""
	}.`;
	return c.redirect(
		`/console/destinations?replayed=${encodeURIComponent(message)}`,
		303,
	);
});

function Failures(props: { rows: FailedDelivery[]; label: string }) {
	if (props.rows.length === 0) return <p class="muted">None.</p>;
	return (
		<div class="table-wrap">
			<table aria-label={props.label}>
				<thead>
					<tr>
						<th scope="col">Updated</th>
						<th scope="col">Event</th>
						<th scope="col">Status</th>
						<th scope="col">Attempts</th>
						<th scope="col">Vendor's answer</th>
					</tr>
				</thead>
				<tbody>
					{props.rows.map((r) => (
						<tr>
							<td>{r.updatedAt}</td>
							<td>
								{r.sourceId} / {r.messageId}
							</td>
							<td>{r.status}</td>
							<td>{r.attempts}</td>
							<td>
								{r.lastStatus ?? ""} {r.lastError ?? ""}
							</td>
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}
