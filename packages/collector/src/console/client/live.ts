/*
 * The live events view: a WebSocket to /console/live/socket (same origin, the session cookie
 * authenticates it), a table of the latest events filtered in the page, and a details panel
 * with the full payload and, for stored events, where they were delivered.
 */

import type { LiveItem } from "../live-item";

/** Rows kept in the table; older ones are dropped. */
const MAX_ROWS = 500;
const items: LiveItem[] = [];
const rowsByItem = new Map<LiveItem, HTMLTableRowElement>();

function element<T extends HTMLElement>(id: string): T {
	const found = document.getElementById(id);
	if (!found) throw new Error(`#${id} missing`);
	return found as T;
}

const body = element<HTMLTableSectionElement>("event-rows");
const statusLine = element<HTMLElement>("live-status");
const details = element<HTMLElement>("event-details");
const filters = {
	source: element<HTMLInputElement>("filter-source"),
	type: element<HTMLSelectElement>("filter-type"),
	name: element<HTMLInputElement>("filter-name"),
	user: element<HTMLInputElement>("filter-user"),
};

function matches(item: LiveItem): boolean {
	const has = (value: string | undefined, wanted: string) =>
		!wanted || (value ?? "").toLowerCase().includes(wanted.toLowerCase());
	const user = filters.user.value.trim();
	return (
		has(item.sourceId, filters.source.value.trim()) &&
		(!filters.type.value ||
			(filters.type.value === "rejected"
				? item.kind === "rejected"
				: item.type === filters.type.value)) &&
		has(item.event, filters.name.value.trim()) &&
		(!user ||
			[item.userId, item.anonymousId, item.profileId].some((v) => has(v, user)))
	);
}

function cell(row: HTMLTableRowElement, text: string, className?: string) {
	const td = row.insertCell();
	td.textContent = text;
	if (className) td.className = className;
}

function rowOf(item: LiveItem): HTMLTableRowElement {
	const row = document.createElement("tr");
	// When the row appeared, for the 2-second check (test/console.test.ts) against receivedAt.
	row.dataset.shownAt = String(Date.now());
	row.dataset.receivedAt = item.receivedAt;
	row.tabIndex = 0;
	row.setAttribute("aria-selected", "false");
	cell(row, new Date(item.receivedAt).toLocaleTimeString());
	cell(row, item.sourceId);
	cell(
		row,
		item.kind === "rejected"
			? `rejected ${item.type ?? ""}`
			: (item.type ?? ""),
		item.kind === "rejected" ? "rejected" : undefined,
	);
	cell(row, item.event ?? "");
	cell(row, item.userId ?? item.anonymousId ?? "");
	cell(
		row,
		item.kind === "rejected" ? (item.error ?? "") : (item.profileId ?? ""),
		item.kind === "rejected" ? "rejected" : undefined,
	);
	row.addEventListener("click", () => show(item, row));
	row.addEventListener("keydown", (event) => {
		if (event.key === "Enter" || event.key === " ") {
			event.preventDefault();
			show(item, row);
		} else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
			event.preventDefault();
			const next =
				event.key === "ArrowDown"
					? row.nextElementSibling
					: row.previousElementSibling;
			if (next instanceof HTMLElement) next.focus();
		}
	});
	return row;
}

function add(incoming: LiveItem[]) {
	for (const item of incoming) {
		items.unshift(item);
		const row = rowOf(item);
		rowsByItem.set(item, row);
		row.hidden = !matches(item);
		body.prepend(row);
	}
	while (items.length > MAX_ROWS) {
		const old = items.pop();
		if (old) {
			rowsByItem.get(old)?.remove();
			rowsByItem.delete(old);
		}
	}
	element("event-count").textContent = String(items.length);
}

function refilter() {
	for (const [item, row] of rowsByItem) row.hidden = !matches(item);
}

function show(item: LiveItem, row: HTMLTableRowElement) {
	for (const selected of body.querySelectorAll('[aria-selected="true"]'))
		selected.setAttribute("aria-selected", "false");
	row.setAttribute("aria-selected", "true");
	details.replaceChildren();
	const heading = document.createElement("h2");
	heading.textContent =
		item.kind === "rejected"
			? `Rejected ${item.type ?? "event"}`
			: `${item.type ?? "event"} ${item.event ?? ""}`.trim();
	details.append(heading);
	if (item.error) {
		const error = document.createElement("p");
		error.className = "error";
		error.textContent = `Error the client got: ${item.error}`;
		details.append(error);
	}
	const facts = document.createElement("dl");
	for (const [term, value] of [
		["Source", item.sourceId],
		["Message id", item.messageId],
		["Received", item.receivedAt],
		["Profile", item.profileId],
		[
			"Consent",
			item.consent === undefined ? undefined : JSON.stringify(item.consent),
		],
	] as const) {
		if (value === undefined) continue;
		const dt = document.createElement("dt");
		dt.textContent = term;
		const dd = document.createElement("dd");
		if (term === "Profile") {
			const link = document.createElement("a");
			link.href = `/console/profiles?id=${encodeURIComponent(value)}`;
			link.textContent = value;
			dd.append(link);
		} else dd.textContent = value;
		facts.append(dt, dd);
	}
	details.append(facts);
	const deliveries = document.createElement("div");
	details.append(deliveries);
	const payload = document.createElement("pre");
	payload.tabIndex = 0;
	payload.setAttribute("aria-label", "Full payload");
	payload.textContent = JSON.stringify(item.payload, null, 2);
	details.append(payload);
	details.focus();
	if (item.kind === "accepted" && item.messageId)
		void showDeliveries(deliveries, item.sourceId, item.messageId);
}

async function showDeliveries(
	target: HTMLElement,
	source: string,
	messageId: string,
) {
	const query = new URLSearchParams({ source, messageId });
	const response = await fetch(`/console/live/deliveries?${query}`, {
		credentials: "same-origin",
	});
	if (!response.ok) return;
	const { deliveries } = (await response.json()) as {
		deliveries: {
			destinationId: string;
			status: string;
			lastError: string | null;
		}[];
	};
	const heading = document.createElement("h3");
	heading.textContent = "Delivery log";
	const list = document.createElement("ul");
	for (const d of deliveries) {
		const li = document.createElement("li");
		li.textContent = `${d.destinationId}: ${d.status}${d.lastError ? ` (${d.lastError})` : ""}`;
		list.append(li);
	}
	if (deliveries.length === 0) {
		const li = document.createElement("li");
		li.textContent =
			"No failure and nothing in flight: delivered at the first try, or routed nowhere";
		list.append(li);
	}
	target.replaceChildren(heading, list);
}

function connect(attempt = 0) {
	const url = new URL("/console/live/socket", location.href);
	url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
	const socket = new WebSocket(url);
	let ping: ReturnType<typeof setInterval> | undefined;
	socket.addEventListener("open", () => {
		attempt = 0;
		statusLine.textContent = "Connected: new events appear as they arrive.";
		document.body.dataset.live = "connected";
		ping = setInterval(() => socket.send("ping"), 30_000);
	});
	socket.addEventListener("message", (message) => {
		const data = JSON.parse(String(message.data)) as { items?: LiveItem[] };
		if (data.items) add(data.items);
	});
	socket.addEventListener("close", () => {
		clearInterval(ping);
		document.body.dataset.live = "disconnected";
		const delay = Math.min(30_000, 1000 * 2 ** attempt);
		statusLine.textContent = `Disconnected; reconnecting in ${Math.round(delay / 1000)} s.`;
		setTimeout(() => connect(attempt + 1), delay);
	});
}

for (const input of Object.values(filters))
	input.addEventListener("input", refilter);
element<HTMLButtonElement>("clear-events").addEventListener("click", () => {
	items.length = 0;
	rowsByItem.clear();
	body.replaceChildren();
	details.replaceChildren();
	element("event-count").textContent = "0";
});
connect();
