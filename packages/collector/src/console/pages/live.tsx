import { EVENT_TYPES } from "@conduit/protocol";
import { Hono } from "hono";
import { ASSET_NAMES } from "../assets.generated";
import { deliveriesOfEvent } from "../deliveries";
import type { ConsoleEnv } from "../env";
import { LIVE_TAIL_NAME } from "../live-tail";
import { sameOrigin } from "../sign-in";
import { Layout, page } from "../views/layout";

/**
 * The live events view (`/console/live`), its WebSocket (`/console/live/socket`, handed to the
 * live-tail Durable Object) and the deliveries of one event (`/console/live/deliveries`).
 *
 * @example
 * consoleRoutes.route("/live", liveRoutes);
 */
export const liveRoutes = new Hono<ConsoleEnv>();

liveRoutes.get("/", (c) =>
	c.html(
		page(
			<Layout
				page="live"
				title="Live events"
				csrf={c.get("session").csrf}
				scripts={[ASSET_NAMES.live]}
			>
				<p id="live-status" role="status" aria-live="polite">
					Connecting…
				</p>
				<form class="inline" aria-label="Filter events" id="filters">
					<div>
						<label for="filter-source">Source</label>
						<input id="filter-source" type="search" />
					</div>
					<div>
						<label for="filter-type">Type</label>
						<select id="filter-type">
							<option value="">any</option>
							{EVENT_TYPES.map((type) => (
								<option value={type}>{type}</option>
							))}
							<option value="rejected">rejected</option>
						</select>
					</div>
					<div>
						<label for="filter-name">Event name</label>
						<input id="filter-name" type="search" />
					</div>
					<div>
						<label for="filter-user">User</label>
						<input
							id="filter-user"
							type="search"
							aria-describedby="filter-user-hint"
						/>
						<span id="filter-user-hint" class="hint">
							userId, anonymousId or profile id
						</span>
					</div>
					<button type="button" id="clear-events">
						Clear
					</button>
				</form>
				<div class="live">
					<section aria-labelledby="events-heading">
						<h2 id="events-heading">
							Events (<span id="event-count">0</span>)
						</h2>
						<p class="hint">
							Select a row (Enter, arrow keys) for its payload and deliveries.
						</p>
						<div class="table-wrap">
							<table id="events">
								<thead>
									<tr>
										<th scope="col">Received</th>
										<th scope="col">Source</th>
										<th scope="col">Type</th>
										<th scope="col">Name</th>
										<th scope="col">User</th>
										<th scope="col">Profile / error</th>
									</tr>
								</thead>
								<tbody id="event-rows" />
							</table>
						</div>
					</section>
					<section
						id="event-details"
						aria-label="Event details"
						aria-live="polite"
						tabindex={-1}
					>
						<p class="hint">No event selected.</p>
					</section>
				</div>
			</Layout>,
		),
	),
);

liveRoutes.get("/socket", async (c) => {
	if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
		return c.text("Expected a WebSocket upgrade", 426);
	// Browsers send cookies with a cross-site WebSocket handshake: only the console's own page
	// may open it (cross-site WebSocket hijacking).
	if (!sameOrigin(c.req.raw)) return c.text("Wrong origin", 403);
	const hub = c.env.CONSOLE_LIVE.get(
		c.env.CONSOLE_LIVE.idFromName(LIVE_TAIL_NAME),
	);
	return hub.fetch(c.req.raw);
});

liveRoutes.get("/deliveries", async (c) => {
	const source = c.req.query("source") ?? "";
	const messageId = c.req.query("messageId") ?? "";
	const deliveries = await deliveriesOfEvent(c.env.DB, source, messageId);
	return c.json({ success: true, deliveries });
});
