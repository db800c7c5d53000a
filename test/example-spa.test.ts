import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { build, type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../packages/sdk/test/chromium";
import {
	devConfig,
	type LocalCollector,
	startCollector,
} from "./support/collector";
import { EVENT_JSON, queryEventsFast, waitForRecords } from "./support/events";

/*
 * examples/spa, built by Vite with its own config and served by `vite preview` (the built app,
 * with the SPA fallback a real host gives), clicked through in Chromium against the collector
 * Worker started here (workerd with fresh local D1, KV and queues). The build points the app at
 * this collector through VITE_CONDUIT_ENDPOINT (the environment wins over the example's .env);
 * KV holds config/dev.json with this run's page origin added to the "web" source, since a test
 * must not depend on the example's usual port being free.
 */

const SPA = fileURLToPath(new URL("../examples/spa", import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), "conduit-spa-"));
let collector: LocalCollector;
let browser: Browser;
let site: PreviewServer | undefined;
let ORIGIN = "";

beforeAll(async () => {
	// The app imports the built package; npm test builds it (the SDK's own tests) before this runs.
	if (!existsSync(new URL("../packages/sdk/dist/index.js", import.meta.url)))
		throw new Error("Build the SDK first: npm run build -w @conduit/sdk");
	[collector, browser] = await Promise.all([
		startCollector(),
		launchChromium(),
	]);
	process.env.VITE_CONDUIT_ENDPOINT = collector.url.origin;
	await build({
		root: SPA,
		logLevel: "warn",
		build: { outDir, emptyOutDir: true },
	});
	site = await preview({
		root: SPA,
		logLevel: "warn",
		build: { outDir },
		preview: { port: 0 },
	});
	ORIGIN = new URL(site.resolvedUrls?.local[0] ?? "").origin;
	// Before the first request, so no isolate has cached the config yet.
	const config = structuredClone(devConfig) as unknown as {
		sources: { id: string; allowedOrigins?: string[] }[];
	};
	config.sources.find((s) => s.id === "web")?.allowedOrigins?.push(ORIGIN);
	await collector.env.CONFIG.put("config", JSON.stringify(config));
});

afterAll(async () => {
	await site?.close();
	await browser?.close();
	await collector?.close();
	rmSync(outDir, { recursive: true, force: true });
});

interface Row {
	type: string;
	event: string | null;
	user_id: string | null;
	anonymous_id: string;
	profile_id: string | null;
	payload: string;
}

/** The web source's events once `count` are stored and resolved to profiles. */
async function resolvedEvents(count: number): Promise<Row[]> {
	await waitForRecords(collector, (events) => events.length >= count);
	const rows = await queryEventsFast<Row>(
		collector,
		`SELECT type, event, userId AS user_id, anonymousId AS anonymous_id, profileId AS profile_id,
  ${EVENT_JSON} AS payload
FROM events WHERE sourceId = 'web' ORDER BY messageId`,
	);
	if (rows.length !== count || rows.some((row) => row.profile_id === null))
		throw new Error(
			`${rows.length} events stored (${rows.filter((r) => r.profile_id).length} resolved); expected ${count}`,
		);
	return rows;
}

it("sends a page view per route change, identifies on sign-in and resets on sign-out", async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	page.setDefaultTimeout(10_000);
	const requested = new Set<string>();
	page.on("request", (request) => requested.add(new URL(request.url()).origin));
	const anonymousId = async () =>
		(await context.cookies()).find((cookie) => cookie.name === "conduit_v1_aid")
			?.value;
	const heading = (name: string) =>
		page.getByRole("heading", { name, exact: true }).waitFor();

	await page.goto(`${ORIGIN}/`);
	await heading("Roasted this week");
	// A link to the page already shown is no route change: no page view.
	await page.getByRole("link", { name: "Home", exact: true }).click();
	await page.getByRole("link", { name: "Espresso beans, 250 g" }).click();
	await heading("Espresso beans, 250 g");
	await page.getByRole("button", { name: "Sign in" }).click();
	await page.getByText("Signed in as Ada Lovelace").waitFor();
	const before = await anonymousId();
	await page.getByRole("link", { name: "Account" }).click();
	await page.getByText("Ada Lovelace <ada@example.com>").waitFor();
	await page.getByRole("button", { name: "Sign out" }).click();
	await page.getByRole("button", { name: "Sign in" }).waitFor();
	const after = await anonymousId();
	await page.goBack();
	await heading("Espresso beans, 250 g");

	const rows = await resolvedEvents(7);
	expect(rows.map((row) => row.event ?? row.type)).toEqual([
		"page",
		"page",
		"identify",
		"Signed In",
		"page",
		"Signed Out",
		"page",
	]);
	const events = rows.map((row) => JSON.parse(row.payload));

	// One page view per route change (the first load, two links, the back button), none for the
	// link to the current page or for signing in or out, each with the route's name and address.
	const pages = events.filter((event) => event.type === "page");
	expect(
		pages.map((event) => [
			event.name,
			event.context.page.path,
			event.context.page.url,
			event.context.page.title,
			event.properties.referrer,
		]),
	).toEqual([
		["Home", "/", `${ORIGIN}/`, "Home · Conduit Coffee", ""],
		[
			"Product",
			"/products/ESP-250",
			`${ORIGIN}/products/ESP-250`,
			"Product · Conduit Coffee",
			`${ORIGIN}/`,
		],
		[
			"Account",
			"/account",
			`${ORIGIN}/account`,
			"Account · Conduit Coffee",
			`${ORIGIN}/products/ESP-250`,
		],
		[
			"Product",
			"/products/ESP-250",
			`${ORIGIN}/products/ESP-250`,
			"Product · Conduit Coffee",
			`${ORIGIN}/account`,
		],
	]);

	// Until sign-out one anonymousId, the browser's; the user id from the identify on.
	expect(before).toMatch(/^[0-9A-Z]{26}$/);
	expect(rows.slice(0, 6).map((row) => row.anonymous_id)).toEqual(
		Array(6).fill(before),
	);
	expect(rows.map((row) => row.user_id)).toEqual([
		null,
		null,
		"usr_1001",
		"usr_1001",
		"usr_1001",
		"usr_1001",
		null,
	]);
	expect(events[2].traits).toEqual({
		email: "ada@example.com",
		name: "Ada Lovelace",
	});
	expect(events[4].context.traits).toEqual(events[2].traits);

	// After sign-out: the new anonymousId the reset made, no user id, no traits.
	expect(after).toMatch(/^[0-9A-Z]{26}$/);
	expect(after).not.toBe(before);
	expect(rows[6]?.anonymous_id).toBe(after);
	expect(events[6].userId).toBeUndefined();
	expect(events[6].context.traits).toBeUndefined();

	// Two profiles. The identify named a new user_id together with the known anonymousId, so the
	// user_id joined that anonymousId's profile: everything before sign-out is one person. After
	// reset() nothing links the browser to them (a new anonymousId, no user id, no traits), so
	// the next visitor starts a profile of their own.
	const [signedIn, signedOut] = [rows[0]?.profile_id, rows[6]?.profile_id];
	expect(rows.slice(0, 6).map((row) => row.profile_id)).toEqual(
		Array(6).fill(signedIn),
	);
	expect(signedOut).not.toBe(signedIn);
	const { results: identities } = await collector.env.DB.prepare(
		"SELECT profile_id, type, value FROM identities ORDER BY profile_id = ?1 DESC, type, value",
	)
		.bind(signedIn)
		.all<{ profile_id: string; type: string; value: string }>();
	expect(identities).toEqual([
		{ profile_id: signedIn, type: "anonymous_id", value: before },
		{ profile_id: signedIn, type: "email", value: "ada@example.com" },
		{ profile_id: signedIn, type: "user_id", value: "usr_1001" },
		{ profile_id: signedOut, type: "anonymous_id", value: after },
	]);

	// Everything the page loaded came from its own origin; events went only to the collector.
	expect([...requested].sort()).toEqual([ORIGIN, collector.url.origin].sort());
	await context.close();
}, 30_000);
