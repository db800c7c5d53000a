import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync } from "node:zlib";
import { Analytics } from "@segment/analytics-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../packages/sdk/test/chromium";
import {
	DEV_WRITE_KEY,
	devConfig,
	type LocalCollector,
	startCollector,
	waitUntil,
} from "./support/collector";

/*
 * The console in Chromium against the Worker under `wrangler dev` with real local D1, KV,
 * Queues and the live-tail Durable Object: sign in, watch events sent with
 * @segment/analytics-node arrive (and a rejected one with its error), find a profile by email
 * with its merged identities and erase it, break a destination and replay it. Each page is
 * screenshotted (into docs/console/, shown in docs/console.md, under `npm run screenshots:console`).
 */

const TOKEN = "console-browser-test-token-0123456789abcdef";
/**
 * Every run takes the screenshots; `npm run screenshots:console` keeps them as the docs' images,
 * other runs write them to a temporary folder so a test run leaves the worktree as it was.
 */
const shots = process.env.CONSOLE_SCREENSHOTS
	? fileURLToPath(new URL("../docs/console/", import.meta.url))
	: join(tmpdir(), "conduit-console-screenshots/");
const run = Date.now().toString(36);
const email = `ann.${run}@example.com`;
const userId = `user-${run}`;

/** The webhook destination's receiver: refuses with 400 while `broken`. */
let broken = true;
const received: string[] = [];
let hooks: Server;

let collector: LocalCollector;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

beforeAll(async () => {
	hooks = createServer((request, response) => {
		let body = "";
		request.on("data", (chunk) => {
			body += chunk;
		});
		request.on("end", () => {
			if (broken) {
				response.writeHead(400, { "Content-Type": "application/json" });
				response.end('{"error":"hook misconfigured"}');
				return;
			}
			received.push(body);
			response.writeHead(200).end("ok");
		});
	});
	await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
	const port = (hooks.address() as AddressInfo).port;
	collector = await startCollector({
		secrets: { ADMIN_TOKEN: TOKEN },
		config: {
			...devConfig,
			sources: [
				...devConfig.sources,
				{
					id: "audiences",
					writeKey: "wk_console_test_audiences_0123456789",
					trust: "server",
				},
			],
			// A computed trait and an audience, shown on the profile page; the audience's
			// activation events go to no destination, so the hooks' counts below stay the test's.
			audiences: {
				source: "audiences",
				computedTraits: [
					{
						key: "revenue_total",
						event: "Order Completed",
						aggregate: "sum",
						property: "properties.revenue",
					},
				],
				definitions: [
					{
						key: "buyers",
						name: "Buyers",
						where: [{ event: "Order Completed" }],
						destinations: [],
					},
				],
			},
			allowPrivateNetwork: true,
			destinations: [
				{
					id: "hooks",
					type: "webhook",
					retry: { maxAttempts: 1 },
					settings: { url: `http://127.0.0.1:${port}/hook` },
				},
			],
		},
	});
	browser = await launchChromium();
	const context = await browser.newContext({
		viewport: { width: 1280, height: 900 },
	});
	page = await context.newPage();
	// Fail a step in seconds, with its own message, rather than at the test's timeout.
	page.setDefaultTimeout(8000);
	page.on("console", (message) => {
		if (/Content Security Policy/i.test(message.text()))
			cspViolations.push(message.text());
	});
	mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
	await browser?.close();
	await collector?.close();
	await new Promise((resolve) => hooks?.close(resolve));
});

const at = (path: string) => new URL(path, collector.url).toString();

async function shot(name: string) {
	await page.screenshot({ path: `${shots}${name}.png`, fullPage: true });
}

function sendWithSegment(send: (analytics: Analytics) => void) {
	const analytics = new Analytics({
		writeKey: DEV_WRITE_KEY,
		host: collector.url.origin,
		flushAt: 50,
		flushInterval: 50,
	});
	send(analytics);
	return analytics.closeAndFlush({ timeout: 10_000 });
}

describe("the console in Chromium", { timeout: 30_000 }, () => {
	it("signs in with the admin token, which never reaches the URL or storage", async () => {
		await page.goto(at("/console"));
		expect(new URL(page.url()).pathname).toBe("/console/sign-in");
		await shot("sign-in");
		await page.getByLabel("Admin token").fill("not-the-token");
		await page.getByRole("button", { name: "Sign in" }).click();
		await expect
			.poll(() => page.getByRole("alert").textContent())
			.toBe("Wrong admin token");
		await page.getByLabel("Admin token").fill(TOKEN);
		await page.getByRole("button", { name: "Sign in" }).click();
		await page.waitForURL(at("/console"));
		expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
			"Overview",
		);
		expect(page.url()).not.toContain(TOKEN);
		const storage = await page.evaluate(() =>
			JSON.stringify({ ...localStorage, ...sessionStorage }),
		);
		expect(storage).not.toContain(TOKEN);
		const cookies = await page.context().cookies();
		expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([
			["conduit_console", true, "Strict"],
		]);
		expect(await page.evaluate("document.cookie")).toBe("");
	});

	it("shows events sent with @segment/analytics-node as they arrive, and a rejected event with its error", async () => {
		await page.goto(at("/console/live"));
		await page.waitForSelector("body[data-live=connected]");
		const rows = page.locator("#event-rows tr");
		// Two people first (stored as two profiles), then an event that ties them: a merge.
		await sendWithSegment((analytics) => {
			analytics.track({
				anonymousId: `anon-a-${run}`,
				event: "Viewed Product",
			});
			analytics.identify({
				userId,
				anonymousId: `anon-b-${run}`,
				traits: { email, plan: "pro" },
			});
		});
		await rows.nth(1).waitFor();
		const sent = Date.now();
		await sendWithSegment((analytics) => {
			analytics.track({
				userId,
				anonymousId: `anon-a-${run}`,
				event: "Order Completed",
				properties: { revenue: 42 },
			});
		});
		const acknowledged = Date.now();
		const row = rows.filter({ hasText: "Order Completed" });
		await row.waitFor();
		// Measured in the page, from the collector's receivedAt (set before it answered) to the
		// row's insertion: the test process's own delays under load are left out.
		const shownMs =
			Number(await row.getAttribute("data-shown-at")) -
			Date.parse((await row.getAttribute("data-received-at")) ?? "");
		// The 2 s target is measured by `npm run bench:console`, on a machine not shared with
		// other test suites; here the row must come without a reload, and its delay is printed.
		console.log(
			`live view: an event shown ${shownMs} ms after the collector received it (${acknowledged - sent} ms until analytics-node had its answer)`,
		);
		expect(shownMs).toBeGreaterThan(0);
		expect(await rows.count()).toBe(3);

		const response = await fetch(at("/v1/batch"), {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				Authorization: `Basic ${btoa(`${DEV_WRITE_KEY}:`)}`,
			},
			body: JSON.stringify({
				batch: [{ type: "track", userId, messageId: `bad-${run}` }],
			}),
		});
		const { rejected } = (await response.json()) as {
			rejected: { error: string }[];
		};
		const error = rejected[0]?.error ?? "";
		expect(error).not.toBe("");
		const rejectedRow = rows.filter({ hasText: error });
		await rejectedRow.waitFor();
		expect(await rejectedRow.textContent()).toContain("rejected");

		await rejectedRow.focus();
		await page.keyboard.press("Enter");
		await expect
			.poll(() => page.locator("#event-details").textContent())
			.toContain(`Error the client got: ${error}`);

		await rows.filter({ hasText: "Order Completed" }).click();
		const details = page.locator("#event-details");
		await expect.poll(() => details.textContent()).toContain('"revenue": 42');
		await expect.poll(() => details.textContent()).toContain("hooks:");

		await page.getByLabel("Event name").fill("Viewed");
		await expect
			.poll(() => page.locator("#event-rows tr:not([hidden])").count())
			.toBe(1);
		await page.getByLabel("Event name").fill("");
		await page.getByLabel("Type").selectOption("rejected");
		await expect
			.poll(() => page.locator("#event-rows tr:not([hidden])").count())
			.toBe(1);
		await page.getByLabel("Type").selectOption("");
		await rows.filter({ hasText: "Order Completed" }).click();
		await shot("live");
	});

	it("finds the profile by email with its merged identities", async () => {
		await page.goto(at("/console/profiles"));
		await page.getByLabel("Find by").selectOption("email");
		await page.getByLabel("Value").fill(email.toUpperCase());
		await page.getByRole("button", { name: "Find" }).click();
		const identities = page.locator("#identities");
		await identities.waitFor();
		const text = await identities.textContent();
		for (const value of [email, userId, `anon-a-${run}`, `anon-b-${run}`])
			expect(text).toContain(value);
		expect(await page.locator("#merges tbody tr").count()).toBe(1);
		expect(await page.locator("#profile").textContent()).toContain(
			'"plan": "pro"',
		);
		// The merged profile's audience, and its built-in and configured computed traits, from
		// the order event.
		expect(await page.locator("#audiences").textContent()).toContain(
			"Buyers (buyers)",
		);
		expect(await page.locator("#trait-values").textContent()).toMatch(
			/^lifetime_value42revenue_total42$/,
		);
		await shot("profile");
	});

	it("shows a failing destination, and a replay delivers once it is fixed", async () => {
		await page.goto(at("/console/destinations"));
		const failures = page.getByRole("table", {
			name: "Recent failures of hooks",
		});
		await waitUntil(
			async () => {
				await page.reload();
				return failures.count();
			},
			(n) => n > 0,
			10_000,
		);
		expect(await failures.textContent()).toContain("hook misconfigured");
		await shot("destinations");
		broken = false;
		await page
			.getByRole("button", {
				name: "Replay failed and dead deliveries to hooks",
			})
			.click();
		await expect
			.poll(() => page.locator("#replay-result").textContent())
			.toMatch(/^Replayed [1-9][0-9]* deliveries to hooks/);
		await waitUntil(
			async () => received.length,
			(n) => n > 0,
			10_000,
		);
		expect(received.join("\n")).toContain("Viewed Product");
	});

	it("shows the config document with its validation result", async () => {
		await page.goto(at("/console/config"));
		expect(await page.locator("#config-valid").textContent()).toContain(
			"3 sources, 1 destinations",
		);
		expect(await page.locator("#config-document").textContent()).toContain(
			'"id": "hooks"',
		);
		await shot("config");
	});

	it("charts events per minute per source, accepted and rejected", async () => {
		await page.goto(at("/console"));
		const totals = page.locator("#source-totals");
		await totals.waitFor();
		const row = await totals
			.locator("tbody tr", { hasText: "web" })
			.textContent();
		expect(row).toBe("web3131");
		await page.locator("#charts .uplot canvas").first().waitFor();
		expect(await page.locator("#destination-figures").textContent()).toContain(
			"hooks",
		);
		await shot("overview");
		expect(cspViolations).toEqual([]);
	});
	it("erases the profile after a confirmation that names what goes, and it is gone", async () => {
		await page.goto(
			at(`/console/profiles?type=email&value=${encodeURIComponent(email)}`),
		);
		await page.getByRole("link", { name: "Erase this profile…" }).click();
		const confirmation = page.locator("#erase-confirmation");
		await confirmation.waitFor();
		const text = (await confirmation.textContent()) ?? "";
		expect(text).toContain(`email ${email}`);
		expect(text).toContain(`user_id ${userId}`);
		expect(text).toContain("4 identifiers");
		expect(text).toContain("merged into it");
		await shot("erase");
		await page.getByRole("button", { name: /^Erase prof_/ }).click();
		await page.locator("#erased").waitFor();
		expect(await page.locator("#erased").textContent()).toContain("4");
		await page.goto(
			at(`/console/profiles?type=email&value=${encodeURIComponent(email)}`),
		);
		await page.locator("#no-profile").waitFor();
		const stored = await collector.env.DB.prepare(
			"SELECT count(*) AS n FROM identities WHERE value = ?1",
		)
			.bind(email)
			.first<{ n: number }>();
		expect(stored?.n).toBe(0);
	});

	it("keeps each page's first load within 60 KB brotli, HTML included", async () => {
		const cookie = (await page.context().cookies())
			.map((c) => `${c.name}=${c.value}`)
			.join("; ");
		for (const path of [
			"/console",
			"/console/live",
			"/console/profiles",
			"/console/destinations",
			"/console/config",
		]) {
			const html = await (
				await fetch(at(path), { headers: { Cookie: cookie } })
			).text();
			const assets = [
				...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g),
			].map((m) => m[1] ?? "");
			let bytes = brotliCompressSync(html).length;
			for (const asset of assets)
				bytes += brotliCompressSync(
					Buffer.from(await (await fetch(at(asset))).arrayBuffer()),
				).length;
			console.log(
				`first load ${path}: ${bytes} B brotli (${assets.length} assets)`,
			);
			expect(bytes).toBeLessThanOrEqual(60 * 1024);
		}
	});

	it("reflows at 200 % zoom (640 CSS px) and starts with a skip link for the keyboard", async () => {
		await page.setViewportSize({ width: 640, height: 900 });
		for (const path of [
			"/console",
			"/console/live",
			"/console/profiles",
			"/console/destinations",
			"/console/config",
		]) {
			await page.goto(at(path));
			const overflow = await page.evaluate(
				"document.documentElement.scrollWidth - document.documentElement.clientWidth",
			);
			expect(overflow, path).toBeLessThanOrEqual(0);
		}
		await page.goto(at("/console/live"));
		await page.keyboard.press("Tab");
		expect(await page.evaluate("document.activeElement.textContent")).toBe(
			"Skip to content",
		);
		await page.keyboard.press("Enter");
		expect(await page.evaluate("document.activeElement.id")).toBe("main");
		await page.screenshot({ path: `${shots}live-200-percent.png` });
		await page.setViewportSize({ width: 1280, height: 900 });
	});
});
